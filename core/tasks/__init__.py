"""Processing of stored recordings, the same code path in two modes (``PARLANCE_TASK_MODE``):

- ``embedded`` (default): worker threads inside the server; no other service; SQLite works;
- ``celery``: a Celery broker (Redis) carries "process recording N" to workers started with
  the suite's worker command on any machine that reaches the database, the broker and the
  storage (late acknowledgement: a worker killed mid-task leaves its task to another).

The database stays the record of truth: a task is only "process record N of kind K"; the record's
status (queued / processing / done / failed), its attempts and its heartbeat live in the app's own
table. A worker *claims* the record before working on it (one UPDATE, so two workers never both
process it) and writes the outcome only while its claim still holds, so a task delivered twice is
processed once. Apps declare their kinds (``registry.TaskKind``); the core never names an app.
"""
