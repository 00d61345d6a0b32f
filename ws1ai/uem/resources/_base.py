"""What every resource shares: typed GET/POST helpers and the page fetcher over the transport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from ws1ai.uem.errors import UEMResponseValidationError
from ws1ai.uem.paging import MAX_PAGE_SIZE, Page, PageStyle, clamp_page_size, iter_items, iter_pages
from ws1ai.uem.transport import Params, UEMTransport, parse_response

__all__ = ["Resource"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Resource:
    def __init__(self, transport: UEMTransport) -> None:
        self._t = transport

    def _send(
        self, method: str, path: str, *, version: int = 1, params: Params | None = None, json: Any = None
    ) -> httpx.Response:
        return self._t.request(method, path, version=version, params=params, json=json)

    def _model(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        version: int = 1,
        params: Params | None = None,
        json: Any = None,
    ) -> M:
        response = self._send(method, path, version=version, params=params, json=json)
        result = parse_response(model, response)
        if result is None:
            raise UEMResponseValidationError(
                f"expected a {model.__name__} body, got HTTP {response.status_code} with an empty body",
                method=method,
                url=str(response.request.url.copy_with(query=None)),
            )
        return result

    def _optional_model(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        version: int = 1,
        params: Params | None = None,
        json: Any = None,
    ) -> M | None:
        """For answers that may legitimately be empty (204, or 200 with no body)."""
        response = self._send(method, path, version=version, params=params, json=json)
        return parse_response(model, response)

    def _page(
        self,
        path: str,
        model: type[M],
        items: Callable[[M], list[T]],
        *,
        page: int,
        page_size: int,
        version: int = 1,
        params: Params | None = None,
        style: PageStyle = PageStyle.V1,
        counts: Callable[[M], tuple[int, int, int]] | None = None,
    ) -> Page[T]:
        """One page; 204 = no results. `counts(result)` gives (page, page_size, total) for odd shapes."""
        size = clamp_page_size(page_size)
        query: dict[str, Any] = {**(params or {}), **style.params(page, size)}
        response = self._send("GET", path, version=version, params=query)
        result = parse_response(model, response)
        if result is None:
            return Page.empty(page, size)
        if counts is not None:
            got_page, got_size, total = counts(result)
        else:
            got_page = getattr(result, "page", page)
            got_size = getattr(result, "page_size", size)
            total = getattr(result, "total", 0)
        return Page(items=items(result), page=got_page, page_size=got_size or size, total=total)

    @staticmethod
    def _iter(fetch: Callable[[int, int], Page[T]], page_size: int = MAX_PAGE_SIZE) -> Iterator[T]:
        return iter_items(iter_pages(fetch, page_size=page_size))
