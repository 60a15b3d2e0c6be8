"""Core pages: audit viewer, calendar administration, notification inbox, health check."""
