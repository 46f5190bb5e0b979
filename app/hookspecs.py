"""Every extension point of HotCRM in one place: what you can plug in, what it gets, and
where it is defined and registered. Read this file first when you want to add behaviour
without editing the core.

Nothing here runs at import time beyond building the list: each entry names the real
object by dotted path (tests/unit/test_hookspecs.py imports every one, so this list
cannot go stale silently).

1. Field types                — app/fieldtypes/
   One class per metadata field type (`FieldType`): column type, coercion and its error
   messages, OpenAPI schema, display format, form/filter widget kinds, numeric-ness and
   the options the admin studio offers (`studio_options()`). Register: one module in
   app/fieldtypes/ + one entry in `FIELD_TYPES` (app/fieldtypes/__init__.py) + the name
   in `FieldType` of app/metadata/models.py (the YAML format).

2. Triggers                   — app/triggers/registry.py
   `@trigger("opportunity", "before_update")` on `fn(tc: TriggerContext) -> None`; runs
   inside the save's transaction (before_* may change `tc.new`, raising refuses the
   save; after_* may write other records through `tc.ql`). Events: before/after of
   insert/update/delete. Register: a module in app/triggers/ imported by
   `app.triggers.load_all()` (build_services calls it once per process).

3. Security policy            — app/objectql/security.py (`SecurityPolicy` protocol)
   ObjectQL asks it on every read and write: `check_object`, `row_filter` (a WHERE
   clause), `field_readable`, `field_editable`, `can_assign`. The shipped one is
   `app.security.policy.PermissionPolicy` (permission sets in metadata/permissions/);
   `OpenSecurity` allows everything. Register: `build_services(security=...)`.

4. Permission questions       — app/objectql/permissions.py
   Not a plug-in but the one public way to *ask* the policy: `ql.allowed(ctx, action,
   obj, path=None) -> bool` and `ql.ensure(...)` (raises PermissionDenied). UI, REST
   and CLI code use these instead of calling the policy directly.

5. Change listeners           — app/events.py (`EventBus.subscribe`)
   `listener(event: ChangeEvent)` after every committed insert/update/delete, in this
   process and (through relays) from every other one; `event.is_resync` means "drop
   all caches". Used by identities, dashboards, metrics and live pages. Register:
   `ql.events.subscribe(listener)` (returns the unsubscribe function).

6. Change relays              — app/events.py (`EventBus.add_relay`)
   Carry this process's changes to other processes; `app.events_redis.RedisRelay` is
   the shipped one (Redis pub/sub). Register: `ql.events.add_relay(fn)`; build_services
   starts the Redis relay when HOTCRM_REDIS_URL is set.

7. AI briefing providers      — app/ai/providers/base.py (`Provider` protocol)
   `stream(context) -> AsyncIterator[Delta | Final]`, raising ProviderError. Shipped:
   `AnthropicProvider` and `OfflineProvider`. Register: `BriefingService.provider()`
   (app/ai/service.py) picks one from `AiSettings.provider` (HOTCRM_AI_PROVIDER).

8. Dashboard change listeners — app/dashboards/service.py (`Dashboards.subscribe`)
   `listener(object_name)` when data behind a dashboard widget changed (open dashboard
   pages refresh). Widget caches plug in as `WidgetCache` (local or Redis,
   app/dashboards/cache.py), chosen by `dashboards_for(ql, redis_url)`.

9. Session revocation stores  — app/auth/revocation.py (`RevocationStore` protocol)
   `revoke`, `revoke_user`, `refuses`: logouts that must hold on every process.
   Shipped: `MemoryRevocations`, `RedisRevocations`. Register: `Services.revocations`
   (build_services picks Redis when configured).

10. Metadata                  — metadata/ (YAML), app/metadata/loader.py
   Objects, fields, list views, layouts, validation rules (metadata/objects/),
   permission sets (metadata/permissions/), dashboards (metadata/dashboards/), AI
   industry hints (metadata/ai/). Register: drop a file in; `hotcrm check-metadata`
   validates; `Services.reload_metadata()` applies it live.

11. Routes and pages          — app/api/__init__.py, pages/__init__.py
   REST routers are included in `app.api.install`; NiceGUI pages register by being imported
   in `pages.register()`. Layering: pages → components → app, never back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtensionPoint:
    name: str
    spec: str  # the dotted path of the interface (protocol, decorator, base class)
    register: str  # the dotted path of where an implementation is plugged in
    summary: str


EXTENSION_POINTS: tuple[ExtensionPoint, ...] = (
    ExtensionPoint("field type", "app.fieldtypes.base.FieldType",
                   "app.fieldtypes.FIELD_TYPES",
                   "storage, checks, schema, display, widgets and studio options of a type"),
    ExtensionPoint("trigger", "app.triggers.registry.trigger", "app.triggers.load_all",
                   "business logic inside a save, in its transaction"),
    ExtensionPoint("security policy", "app.objectql.security.SecurityPolicy",
                   "app.core.build_services",
                   "object, row and field rights consulted on every read and write"),
    ExtensionPoint("permission question", "app.objectql.permissions.Permissions",
                   "app.objectql.service.ObjectQL.allowed",
                   "allowed(...) -> bool / ensure(...) raising PermissionDenied"),
    ExtensionPoint("change listener", "app.events.ChangeEvent",
                   "app.events.EventBus.subscribe",
                   "runs after every committed change, local or from another process"),
    ExtensionPoint("change relay", "app.events_redis.RedisRelay",
                   "app.events.EventBus.add_relay",
                   "carries this process's changes to the others"),
    ExtensionPoint("AI provider", "app.ai.providers.base.Provider",
                   "app.ai.service.BriefingService.provider",
                   "streams an account briefing (Anthropic or offline)"),
    ExtensionPoint("dashboard listener", "app.dashboards.service.Dashboards.subscribe",
                   "app.dashboards.service.dashboards_for",
                   "told when data behind dashboard widgets changed"),
    ExtensionPoint("widget cache", "app.dashboards.cache.WidgetCache",
                   "app.dashboards.service.dashboards_for",
                   "where computed dashboard widgets are kept (local or Redis)"),
    ExtensionPoint("revocation store", "app.auth.revocation.RevocationStore",
                   "app.core.Services",
                   "logouts and password changes that hold on every process"),
    ExtensionPoint("metadata", "app.metadata.loader.load_registry",
                   "app.core.Services.reload_metadata",
                   "objects, permissions, dashboards as YAML, applied live"),
)
