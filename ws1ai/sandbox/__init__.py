"""The emulated Workspace ONE UEM tenant (ASGI app): routes, state, exact errors, faults, `/_sandbox` control.

`create_app(state)` builds the FastAPI app; `SandboxState` is the in-memory tenant;
`server.serve_in_background` runs it on a loopback socket; `cli.sandbox_app` is `ws1ai sandbox`.
"""

from ws1ai.sandbox.app import create_app
from ws1ai.sandbox.state import Ctx, SandboxState

__all__ = ["Ctx", "SandboxState", "create_app"]
