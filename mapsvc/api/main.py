"""The application: composed here, built elsewhere."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from mapsvc.api import (auth, boundaries, categories, health, incidents, locate, registry,
                        stats)
from mapsvc.api.errors import add_exception_handlers
from mapsvc.db.engine import async_engine


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.engine = async_engine()
    yield
    await app.state.engine.dispose()


def create_app() -> FastAPI:
    app = FastAPI(title="mapsvc", summary="People's-situation map (民情地图) for grid governance",
                  version="0.1.0", lifespan=lifespan)
    for module in (health, auth, boundaries, locate, categories, incidents, registry, stats):
        app.include_router(module.router, prefix="/api/v1")
    add_exception_handlers(app)
    return app
