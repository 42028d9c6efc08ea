"""The HTTP plumbing that api/, live/ and auth/ share: error mapping, request
readers and the route table behind the OpenAPI document."""
