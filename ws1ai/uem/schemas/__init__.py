"""Wire models with the real JSON field names as aliases (strict under `WS1AI_STRICT_MODELS=1`)."""

from ws1ai.uem.schemas._base import CamelModel, PascalModel, SnakeModel, WireModel, strict_models
from ws1ai.uem.schemas.automation import *  # noqa: F403 - each module lists its public names in __all__
from ws1ai.uem.schemas.automation import __all__ as _automation
from ws1ai.uem.schemas.common import *  # noqa: F403
from ws1ai.uem.schemas.common import __all__ as _common
from ws1ai.uem.schemas.device_details import *  # noqa: F403
from ws1ai.uem.schemas.device_details import __all__ as _details
from ws1ai.uem.schemas.devices import *  # noqa: F403
from ws1ai.uem.schemas.devices import __all__ as _devices
from ws1ai.uem.schemas.mam import *  # noqa: F403
from ws1ai.uem.schemas.mam import __all__ as _mam
from ws1ai.uem.schemas.mdm import *  # noqa: F403
from ws1ai.uem.schemas.mdm import __all__ as _mdm
from ws1ai.uem.schemas.system import *  # noqa: F403
from ws1ai.uem.schemas.system import __all__ as _system

__all__ = [
    "CamelModel",
    "PascalModel",
    "SnakeModel",
    "WireModel",
    "strict_models",
    *_automation,
    *_common,
    *_details,
    *_devices,
    *_mam,
    *_mdm,
    *_system,
]
