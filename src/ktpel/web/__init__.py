"""Web layer: app factory, templates, static files, i18n, problem details."""
