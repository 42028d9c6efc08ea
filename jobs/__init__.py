"""Background jobs of a serving process, on one APScheduler: self-monitoring,
retention and daily backups."""
