"""Imported once by the fork server that job worker processes are forked from (service.api.jobs.worker_context):
torch and transformers take seconds to import, so each worker, and each replacement of a killed one, would pay that
again; forked from here, a worker only loads its model weights."""
from service.api.worker import one_thread_each

one_thread_each()   # before torch is imported: its thread pools read these once

import service.pipeline  # noqa: E402,F401
