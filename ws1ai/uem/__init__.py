"""Workspace ONE UEM REST client — the only code in ws1ai that speaks HTTP to UEM."""

from ws1ai.uem.client import UEMClient
from ws1ai.uem.errors import (
    UEMAPIError,
    UEMBadRequest,
    UEMConflict,
    UEMConnectionError,
    UEMError,
    UEMForbidden,
    UEMNotFound,
    UEMQuotaExhausted,
    UEMRateLimited,
    UEMReadOnlyError,
    UEMRequestTimeout,
    UEMResponseValidationError,
    UEMServerError,
    UEMSharedLimitError,
    UEMTimeout,
    UEMUnauthorized,
    UEMUnprocessable,
)
from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.ratelimit import RateLimiter, limiter_for
from ws1ai.uem.transport import TransportStats

__all__ = [
    "MAX_PAGE_SIZE",
    "Page",
    "RateLimiter",
    "TransportStats",
    "UEMAPIError",
    "UEMBadRequest",
    "UEMClient",
    "UEMConflict",
    "UEMConnectionError",
    "UEMError",
    "UEMForbidden",
    "UEMNotFound",
    "UEMQuotaExhausted",
    "UEMRateLimited",
    "UEMReadOnlyError",
    "UEMRequestTimeout",
    "UEMResponseValidationError",
    "UEMServerError",
    "UEMSharedLimitError",
    "UEMTimeout",
    "UEMUnauthorized",
    "UEMUnprocessable",
    "limiter_for",
]
