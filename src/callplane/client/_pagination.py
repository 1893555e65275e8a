"""Lists that follow the cursor: ``for n in client.numbers.list()`` walks every page, lazily.

Nothing is fetched until the first item is wanted, and each page only when the previous one is
used up, so breaking out of a loop early costs no further request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from callplane.client._base_client import Page

__all__ = ["AsyncPager", "Page", "Pager"]

T = TypeVar("T")


class Pager(Generic[T]):
    """Every item of a list, page after page; ``pages()`` gives the pages themselves."""

    def __init__(self, fetch: Callable[[str | None], Page[T]], cursor: str | None = None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def pages(self) -> Iterator[Page[T]]:
        cursor = self._cursor
        while True:
            page = self._fetch(cursor)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


class AsyncPager(Generic[T]):
    """``async for`` over every item of a list; ``pages()`` gives the pages themselves."""

    def __init__(
        self, fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None
    ) -> None:
        self._fetch = fetch
        self._cursor = cursor

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def pages(self) -> AsyncIterator[Page[T]]:
        cursor = self._cursor
        while True:
            page = await self._fetch(cursor)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
