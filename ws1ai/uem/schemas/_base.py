"""Base classes of the wire models: real JSON names as aliases, snake_case attributes.

Lenient in production (unknown fields are kept: a tenant upgrade that adds fields breaks nothing) and
strict under test (`WS1AI_STRICT_MODELS=1`): an unknown field is then a validation error, so drift
between the sandbox and these models fails loudly. The switch is read at validation time, not at
import, so it works whatever imported the package first.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel, to_pascal

__all__ = ["CamelModel", "PascalModel", "SnakeModel", "WireModel", "strict_models"]


def strict_models() -> bool:
    return os.environ.get("WS1AI_STRICT_MODELS") == "1"


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_validator(mode="after")
    def _forbid_unknown_fields_under_test(self) -> Any:
        extra = self.__pydantic_extra__
        if extra and strict_models():
            raise ValueError(f"unexpected field(s) {sorted(extra)} in {type(self).__name__} (strict models)")
        return self

    def to_wire(self) -> dict[str, Any]:
        """Request body: real field names; unset fields are left out (absent and null differ to the API)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class PascalModel(WireModel):
    """v1 shapes: `SerialNumber`, `LocationGroupId`..."""

    model_config = ConfigDict(alias_generator=to_pascal)


class CamelModel(WireModel):
    """v2 shapes: `serialNumber`, `platformInfo`..."""

    model_config = ConfigDict(alias_generator=to_camel)


class SnakeModel(WireModel):
    """v3+ shapes: `serial_number`, `page_size`... (attribute name = JSON name)."""
