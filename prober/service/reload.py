"""The reloader: parse the config fully, then swap; a bad file keeps the running config."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
from pathlib import Path

from prober.config import Config
from prober.logs import REDACTOR, get_logger
from prober.rescue import read_config
from prober.runner import Runner
from prober.service.intake import Intake
from prober.service.pipeline import EffectPipeline
from prober.settings import Settings
from prober.signals.traffic import engine_config
from prober.webhooks import WebhookSender

log = get_logger("prober.service")


def digest(path: str) -> bytes | None:
    """Content hash of the config file, following symlinks (Kubernetes ConfigMap swaps)."""
    try:
        return hashlib.sha256(Path(os.path.realpath(path)).read_bytes()).digest()
    except OSError:
        return None


class Reloader:
    def __init__(
        self,
        settings: Settings,
        pipeline: EffectPipeline,
        intake: Intake,
        runner: Runner,
        sender: WebhookSender,
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.live = pipeline.live
        self.intake = intake
        self.runner = runner
        self.sender = sender
        self._digest = digest(settings.config_path)
        self._one_at_a_time = asyncio.Lock()

    async def watch(self) -> None:
        """A periodic job: reload when the file's content changed."""
        now = digest(self.settings.config_path)
        if now is not None and now != self._digest:
            await self.reload()

    async def reload(self) -> tuple[bool, list[str]]:
        """Parse fully, then swap; a bad file keeps the running config. One at a time."""
        async with self._one_at_a_time:
            self._digest = digest(self.settings.config_path)
            now = self.live.time.now()
            path, transform = self.settings.config_path, self.settings.transform
            config, errors = await read_config(path, transform)
            if config is None:
                self.pipeline.exporter.config_reloaded(False, now)
                for line in errors:
                    log.error("config_reload_failed", error=line)
                return False, errors
            await self._swap(config, now)
        gc.freeze()
        log.info("config_reloaded", checks=len(config.checks), components=len(config.components))
        return True, []

    async def _swap(self, config: Config, now: float) -> None:
        exporter, pipeline = self.pipeline.exporter, self.pipeline
        async with self.live.lock:
            self.live.config = config
            REDACTOR.secrets = config.secret_values
            effects = self.live.engine.reconfigure(engine_config(config), now)
            self.runner.update(config.probed)
            if not self.live.follower:  # a follower reads no signal (role.py starts them)
                self.intake.configure_traffic(config)
            exporter.set_checks(config.checks)
            self.sender.configure(config.webhooks)
            pipeline.view.keep_checks(config.checks)
            self.intake.throttle.forget({c.id for c in config.checks})
            if effects:
                await pipeline.apply(effects, now)
            exporter.config_reloaded(True, now)
            pipeline.rebuild(now)
