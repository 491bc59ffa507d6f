"""create_app(settings): wires the database, storage, queue, services and routes."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from mediashelf import __version__, priority
from mediashelf.api import assets as assets_api
from mediashelf.api import edits as edits_api
from mediashelf.api import errors, health
from mediashelf.api import events as events_api
from mediashelf.api import files as files_api
from mediashelf.api import uploads as uploads_api
from mediashelf.api import webhooks as webhooks_api
from mediashelf.api.assets import CREATE_HEADERS, PAGINATION_HEADERS
from mediashelf.api.head import answer_head
from mediashelf.api.limits import HEADERS as RATE_LIMIT_HEADERS
from mediashelf.api.observe import RequestMetrics
from mediashelf.api.openapi import customise_openapi
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database, open_database
from mediashelf.db.deliveries import DeliveryRepository
from mediashelf.db.events import EventRepository
from mediashelf.db.idempotency import IdempotencyRepository
from mediashelf.db.jobs import JobRepository
from mediashelf.db.keys import KeyRepository
from mediashelf.db.quotas import QuotaRepository
from mediashelf.db.uploads import UploadRepository
from mediashelf.db.webhooks import WebhookRepository
from mediashelf.db.workers import WorkerRepository
from mediashelf.domain import AssetType
from mediashelf.net.fetch import Fetcher
from mediashelf.security import UrlSigner, load_or_create_secret
from mediashelf.services.assets import AssetService
from mediashelf.services.edits import EditService
from mediashelf.services.event_stream import EventHub
from mediashelf.services.events import EventService
from mediashelf.services.health import Health
from mediashelf.services.idempotency import IdempotencyService
from mediashelf.services.keys import KeyService
from mediashelf.services.limits import Limits
from mediashelf.services.processing import Processor
from mediashelf.services.quotas import Quotas
from mediashelf.services.replies import Replies
from mediashelf.services.uploads import UploadService
from mediashelf.services.webhooks import WebhookService
from mediashelf.settings import Settings
from mediashelf.storage import local_folders, open_storage
from mediashelf.storage.base import Storage
from mediashelf.storage.space import SpaceGuard
from mediashelf.worker import Worker

if TYPE_CHECKING:  # the decoder pool is imported only by processes that run a worker
    from mediashelf.media.analysis import Analyser
    from mediashelf.services.delivery import Deliverer, Tally

log = logging.getLogger("mediashelf.app")


@dataclass
class Services:
    settings: Settings
    db: Database
    storage: Storage
    signer: UrlSigner
    keys: KeyService
    assets: AssetService
    uploads: UploadService
    fetcher: Fetcher
    space: SpaceGuard
    idempotency: IdempotencyService
    health: Health
    edits: EditService
    events: EventService
    webhooks: WebhookService
    worker: Worker | None = None
    analyser: Analyser | None = None  # the worker's decoder pool

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.analyser is not None:
            self.analyser.close()
        self.db.close()


def build_services(settings: Settings, *, with_worker: bool, deliver: bool = True) -> Services:
    """Everything a process needs; the worker (and its decoder pool) only when asked, and
    with it the webhook deliverer unless `deliver` is false."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.database_url, pool_size=settings.db_pool_size,
                       max_overflow=settings.db_max_overflow)
    signer = UrlSigner(load_or_create_secret(settings.data_dir))
    space = SpaceGuard(local_folders(settings), settings.min_free_space)
    storage = open_storage(settings, signer, space)
    fetcher = Fetcher(allow_private=settings.allow_private_urls,
                      allowed_ports=settings.allowed_ports,
                      connect_timeout=settings.fetch_connect_timeout,
                      read_timeout=settings.fetch_read_timeout,
                      total_timeout=settings.fetch_total_timeout)
    asset_repo, job_repo = AssetRepository(), JobRepository()
    events = EventService(db, EventRepository(), settings.event_retention)
    assets = AssetService(db, asset_repo, job_repo, storage, settings, url_check=fetcher.check,
                          space=space, events=events)
    events.links = assets.links
    idempotency = IdempotencyService(db, IdempotencyRepository(), settings.idempotency_ttl,
                                     settings.upload_lease)
    health = Health(db, storage, space, job_repo, WorkerRepository(),
                    stale_after_s=settings.worker_stale_after)
    uploads = UploadService(db, UploadRepository(), assets, settings)
    services = Services(settings, db, storage, signer, KeyService(db, KeyRepository()), assets,
                        uploads, fetcher, space, idempotency, health,
                        EditService(db, asset_repo, assets, settings.purge_after), events,
                        make_webhooks(settings, db, fetcher, events))
    health.more_metrics.append(services.webhooks.metric_families)
    if with_worker:
        services.analyser = make_analyser(settings)
        services.worker = make_worker(services, services.analyser, deliver=deliver)
        assets.on_enqueue = services.worker.wake
    return services


def make_webhooks(s: Settings, db: Database, fetcher: Fetcher,
                  events: EventService) -> WebhookService:
    """Endpoints, and a delivery per subscribed endpoint in each event's own transaction."""
    webhooks = WebhookService(db, WebhookRepository(), DeliveryRepository(),
                              url_check=fetcher.check, max_endpoints=s.webhook_max_endpoints,
                              secret_overlap_s=s.webhook_secret_overlap,
                              history_s=s.event_retention)
    events.on_record.append(webhooks.fan_out)
    return webhooks


def make_deliverer(services: Services, owner: str, tally: Tally | None = None) -> Deliverer:
    """The worker's webhook sender, with a fetcher of its own (the answer's deadline)."""
    from mediashelf.services.delivery import Deliverer

    s = services.settings
    sender = Fetcher(allow_private=s.allow_private_urls, allowed_ports=s.allowed_ports,
                     connect_timeout=min(s.fetch_connect_timeout, s.webhook_timeout))
    deliverer = Deliverer(services.db, DeliveryRepository(), WebhookRepository(), sender,
                          services.events.render, owner=owner,
                          schedule=s.webhook_retry_schedule, timeout_s=s.webhook_timeout,
                          disable_after_s=s.webhook_disable_after, lease_s=s.webhook_lease,
                          concurrency=s.webhook_concurrency, poll_s=s.poll_interval,
                          tally=tally)
    services.webhooks.on_queued = deliverer.wake
    return deliverer


def make_analyser(s: Settings) -> Analyser:
    from mediashelf.media.analysis import Analyser

    return Analyser(s.media_processes, s.media_timeout, s.media_memory_mb,
                    s.media_tasks_per_process, max_pixels=s.media_max_pixels,
                    max_duration=s.media_max_duration)


def make_worker(services: Services, analyser: Analyser, *, deliver: bool = True) -> Worker:
    s = services.settings
    limits = {t: s.max_bytes(t.value) for t in AssetType}
    processor = Processor(services.db, AssetRepository(), services.storage, analyser,
                          services.fetcher, max_attempts=s.job_max_attempts, limits=limits,
                          events=services.events)
    worker = Worker(services.db, JobRepository(), processor, services.assets, services.storage,
                    chores={"idempotency": services.idempotency.purge_expired,
                            "events": services.events.sweep,
                            "webhook_history": services.webhooks.sweep_history},
                    expire_uploads=services.uploads.expire_due,
                    concurrency=s.worker_concurrency, lease_s=s.job_lease,
                    poll_s=s.poll_interval,
                    purge_every_s=max(1.0, min(60.0, s.purge_after / 4, s.upload_expiry / 4)),
                    sweep_every_s=max(1.0, min(300.0, s.upload_lease / 2)),
                    workers=WorkerRepository(), beat_every_s=s.worker_stale_after / 3)
    if deliver and s.webhook_process:  # its Python off this process's GIL (the API's, jobs')
        from mediashelf.delivery_process import DelivererProcess

        process = DelivererProcess(s, worker.name)
        services.webhooks.on_queued = process.wake
        worker.companions.append(process)
    elif deliver:
        worker.companions.append(make_deliverer(services, worker.name))
    return worker


def create_app(settings: Settings, run_worker: bool = True,
               services: Services | None = None) -> FastAPI:
    services = services or build_services(settings, with_worker=run_worker)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if services.worker is not None:
            priority.share_the_interpreter()  # the loop gets the GIL back soon from a job
            services.worker.start()
        yield
        await app.state.event_hub.close()
        await services.keys.close()
        await app.state.replies.close()
        services.close()

    # /docs (Swagger UI) from files shipped in fastapi-offline, not a CDN: it works on a closed
    # network. No validator badge, no ReDoc: each would still fetch from its makers' sites.
    # The document's server is a path (MEDIASHELF_PUBLIC_URL's, if any): "Try it out" calls the
    # host the page was opened on, never a guess such as 127.0.0.1 when no public URL is set.
    app = FastAPIOffline(title="mediashelf", version=__version__, lifespan=lifespan,
                         description="A self-hosted media asset library, wire-compatible with "
                                     "the Argil v1 Assets API.",
                         servers=[{"url": urlsplit(settings.public_url).path or "/"}],
                         static_url="/docs/assets",
                         redoc_url=None,
                         swagger_ui_parameters={"validatorUrl": None,
                                                "persistAuthorization": True})
    app.state.settings = settings
    app.state.services = services
    app.state.db = services.db
    app.state.storage = services.storage
    app.state.space = services.space
    app.state.health = services.health
    app.state.signer = services.signer
    app.state.keys = services.keys
    app.state.assets = services.assets
    app.state.idempotency = services.idempotency
    app.state.edits = services.edits
    app.state.uploads = services.uploads
    app.state.webhooks = services.webhooks
    app.state.replies = Replies(services.assets, settings.list_cache, services.db.read_threads,
                                reads=services.db.async_reads(),
                                local=services.db.sync_reads())
    app.state.event_hub = EventHub(services.events, settings.event_poll)
    app.state.limits = Limits(settings, Quotas(services.db, QuotaRepository()))
    errors.install(app)
    app.add_middleware(errors.JsonCORSMiddleware, allow_origins=["*"], allow_methods=["*"],
                       allow_headers=["*"],
                       expose_headers=list(dict.fromkeys(
                           [*PAGINATION_HEADERS, *CREATE_HEADERS, *RATE_LIMIT_HEADERS,
                            *uploads_api.EXPOSED])))
    app.add_middleware(RequestMetrics)  # outermost of ours: counts CORS answers too
    app.include_router(assets_api.router)
    app.include_router(edits_api.router)
    app.include_router(uploads_api.router)
    app.include_router(events_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(files_api.router)
    app.include_router(health.router)
    web = files("mediashelf") / "web"
    mimetypes.add_type("text/javascript", ".js")  # module scripts need it, whatever the OS says
    app.mount("/web", StaticFiles(packages=[("mediashelf", "web")]), name="web")

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = web / "index.html"
        if not page.is_file():
            return Response("mediashelf is running; the web page is not installed.",
                            media_type="text/plain")
        return FileResponse(str(page), media_type="text/html")

    answer_head(app, endless=frozenset({"/v1/events"}))
    customise_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """The API alone, from MEDIASHELF_* variables: the factory of `serve --workers N` processes
    (the embedded worker, if any, runs once, in the process that started them)."""
    from mediashelf import logs, tracing
    from mediashelf.settings import load_settings

    settings = load_settings()
    logs.setup(settings.log_level, settings.log_format)
    tracing.setup(settings.tracing)
    return create_app(settings, run_worker=False)
