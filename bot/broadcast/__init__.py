"""Broadcast campaigns: consent-based segments, campaigns, the shared queue and its workers.

`campaigns` (create, start, pause, resume, cancel) and `segments` (filters, preview) are the API
the CLI and the admin console call; `imports` loads contact lists collected by RT/RW cadres;
`worker` and `ledger` deliver each recipient at most once at the platforms' pace; `report`
counts and exports outcomes.
"""
