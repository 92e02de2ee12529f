"""Braze REST client: batching, rate limiting, retries, concurrent execution.

Sends through the shared outbound-HTTP layer (``cohortops.http``) with Braze's retry settings.
"""

from cohortops.braze.client import BrazeClient
from cohortops.braze.errors import (
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeEndpointError,
    BrazePermissionError,
    BrazeRequestError,
    BrazeRetriesExhausted,
)
from cohortops.braze.executor import BatchExecutor, ExecutorStats, auto_workers
from cohortops.braze.requests import (
    AttributeBatch,
    Batch,
    BatchResult,
    CohortImportBatch,
    ExportResult,
    IdentifierKind,
)
from cohortops.braze.splitting import (
    DEFAULT_MAX_OBJECTS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    MAX_COHORT_IDS,
    Batches,
    attribute_batches,
    cohort_import_batches,
    invalid_reason,
)

__all__ = [
    "DEFAULT_MAX_OBJECTS",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "MAX_COHORT_IDS",
    "AttributeBatch",
    "Batch",
    "BatchExecutor",
    "BatchResult",
    "Batches",
    "BrazeAuthError",
    "BrazeBadRequestError",
    "BrazeClient",
    "BrazeEndpointError",
    "BrazePermissionError",
    "BrazeRequestError",
    "BrazeRetriesExhausted",
    "CohortImportBatch",
    "ExecutorStats",
    "ExportResult",
    "IdentifierKind",
    "attribute_batches",
    "auto_workers",
    "cohort_import_batches",
    "invalid_reason",
]
