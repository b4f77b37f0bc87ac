"""The review page and feeds (`fundradar serve`): a small Flask application.

`create_app()` builds it (tests use it with Flask's test client); `server.serve()` runs it on
Werkzeug's threaded server, refusing to listen beyond this machine without an access token.
"""

from fundradar.web.app import create_app

__all__ = ["create_app"]
