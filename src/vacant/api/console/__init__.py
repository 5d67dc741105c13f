"""The web console: server-rendered pages (Jinja2, plain HTML forms, no JavaScript) on the
same session cookie, CSRF token and audited write layer as the REST API (``pages``)."""
