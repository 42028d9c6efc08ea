/* With sign-in on: when the session ends while a page is open (expired,
   signed out elsewhere, password changed), Dash's requests answer 401; go to
   the sign-in form and come back here afterwards. Not after "Sign out": the
   requests still on their way then answer 401 too, and the form's own answer
   leads to the sign-in form. */
(function () {
    if (!window.fetch) { return; }
    var fetch = window.fetch.bind(window);
    var leaving = false;
    document.addEventListener("submit", function (event) {
        var form = event.target;
        if (form && form.getAttribute && form.getAttribute("action") === "/logout") { leaving = true; }
    }, true);
    window.fetch = function (input, init) {
        return fetch(input, init).then(function (response) {
            var url = typeof input === "string" ? input : (input && input.url) || "";
            if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
                if (!leaving) {
                    leaving = true;
                    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
                }
                return new Promise(function () {});  // leaving: Dash need not handle (or report) this answer
            }
            return response;
        });
    };
})();
