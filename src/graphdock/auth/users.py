"""The authenticated user, in the shape langgraph_sdk's auth handlers expect of `ctx.user`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class User:
    """What `@auth.authenticate` returned, normalised: a user id string, a dict with `identity`
    (and optionally `permissions`, `display_name`, `is_authenticated`, anything else), or an
    object with an `identity` attribute. Handlers read it as `ctx.user.identity`,
    `ctx.user["identity"]` or `ctx.user.org_id` alike, as on the official server."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)

    @classmethod
    def from_result(cls, result: object) -> User:
        if isinstance(result, User):
            return result
        if isinstance(result, str) and result:
            return cls({"identity": result})
        if isinstance(result, Mapping) and isinstance(result.get("identity"), str):
            return cls(result)
        identity = getattr(result, "identity", None)
        if isinstance(identity, str):
            fields = {k: getattr(result, k) for k in dir(result) if not k.startswith("_")}
            return cls({k: v for k, v in fields.items() if not callable(v)})
        raise TypeError(
            "@auth.authenticate must return a user id string, a dict with an 'identity' string, or an "
            f"object with an 'identity' attribute; it returned {type(result).__name__}"
        )

    @property
    def identity(self) -> str:
        identity: str = self._fields["identity"]
        return identity

    @property
    def permissions(self) -> Sequence[str]:
        return list(self._fields.get("permissions") or ())

    @property
    def display_name(self) -> str:
        return str(self._fields.get("display_name") or self.identity)

    @property
    def is_authenticated(self) -> bool:
        return bool(self._fields.get("is_authenticated", True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return {**self._fields, "display_name": self.display_name, "is_authenticated": self.is_authenticated}[
            key
        ]

    def __contains__(self, key: object) -> bool:
        return key in self._fields or key in ("display_name", "is_authenticated")

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __repr__(self) -> str:
        return f"User(identity={self.identity!r})"
