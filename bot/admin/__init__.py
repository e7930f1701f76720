"""The admin and staff console at /admin: server-rendered pages and a JSON API in the web app.

`site.mount` builds the routes (one table with the role each needs), `console.Console` holds the
use cases, and the stores behind them (users, sessions, audit log, knowledge-base history) are
small Protocol-shaped classes on the runtime's Redis.
"""
