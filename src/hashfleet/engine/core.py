"""The engine kernel: a SimPy calendar driving the daily steps of one chunk of paths.

A :class:`ChunkEngine` simulates a whole number of stream blocks of paths.  Its SimPy
environment is the calendar: a clock process ticks once per day and everything dated
(deliveries, contract dates, policy reviews, debt schedules) is a SimPy process.  Events
dated day ``d`` take effect before day ``d``'s tick.

The kernel knows no domain.  It owns the calendar, the ordered **steps** of a day, the
exogenous processes' windows (stage 10, ``market``), the declared daily variables, the day's
**ledger** (:meth:`ChunkEngine.book`), keyed random streams (:meth:`ChunkEngine.rng`), the
per-chunk **services** components share (:meth:`ChunkEngine.provide`,
:meth:`ChunkEngine.service`) and the hand-over to the recorder (stage 90, ``record``).
Everything else — the network's block production and retargets, the fleet's dispatch and
production, the power programmes, cash settlement — is a **component**: an object whose
``attach(engine)`` adds steps, processes, variables and services.  The composition root
(:mod:`hashfleet.model`) lists them in stage order; see ``docs/architecture.md``.

Stages (lower first; ties in the order added):

=====  ==========  ==============================================================
stage  name        what it does
=====  ==========  ==============================================================
10     market      (kernel) draws the exogenous processes window by window
15     supply      (network) the rest of the network's hashrate
18     machines    (fleet, optional) repairs, failures, spares, degradation
20     dispatch    (fleet) which cohorts run, hour by hour where prices vary
30     network     (network) exact block production, retargets and halvings
40     production  (fleet) production, revenue, power cost, programme flows; then
                   (finance) fixed opex; (market) programme records
50-70  (free)      components: asset market, policies, orders, HPC, debt ...
80     settle      (finance) cash += inflows − outflows booked today
85     metrics     (finance) EBITDA, free cash flow, NPV, IRR
90     record      (kernel) hands the day's declared variables to the recorder
=====  ==========  ==============================================================

Shared per-day values live in ``engine.today`` (a :class:`~hashfleet.day.DayRecord` when
run from the composition root); recorded values in ``engine.values`` (every declared
variable is set each day, flows not booked are zero).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import simpy
from numpy.typing import NDArray

from hashfleet.engine.events import EventBook
from hashfleet.engine.invariants import InvariantGuard, checks_enabled
from hashfleet.engine.streams import STREAM_BLOCK_PATHS, BlockRNG
from hashfleet.processes import WINDOW_DAYS, ExogenousProcess

__all__ = ["ChunkEngine", "Component", "DayLike", "DaySink", "EngineModel", "EventSource"]

DaySink = Callable[[int, int, dict[str, NDArray[np.float64]]], None]
Step = Callable[[int], None]
T = TypeVar("T")


@runtime_checkable
class Component(Protocol):
    """A capability plugged into every chunk engine of a run (built once per run)."""

    def attach(self, engine: ChunkEngine) -> None:
        """Add steps, processes, variables, services and state to ``engine``."""
        ...


class EngineModel(Protocol):
    """What the kernel reads of a compiled scenario (:class:`hashfleet.model.CompiledScenario`)."""

    @property
    def n_days(self) -> int: ...

    @property
    def processes(self) -> Sequence[tuple[str, ExogenousProcess]]: ...

    @property
    def components(self) -> Sequence[Any]: ...

    def new_day(self) -> DayLike:
        """A fresh record of the values steps share within a day."""
        ...


class DayLike(Protocol):
    """The kernel's view of the day record: it only hands over the exogenous values."""

    def set_exogenous(self, values: dict[str, NDArray[np.float64]]) -> None: ...


class EventSource(Protocol):
    """A log of per-path events the runner collects at the end (e.g. retargets)."""

    @property
    def kinds(self) -> tuple[str, ...]: ...

    def columns(self, kind: str, *, release: bool = False) -> dict[str, NDArray[Any]]: ...


class ChunkEngine:
    """Simulate paths ``first_block·B .. (first_block+n_blocks)·B − 1`` of a scenario.

    Parameters
    ----------
    model : EngineModel
        Usually a :class:`hashfleet.model.CompiledScenario`; its components are attached
        in order.
    seed : int
        Root seed.
    first_block, n_blocks : int
        The stream blocks this chunk covers.
    sink : callable ``(day, path_offset, values) -> None``
        Receives each day's ``(n_chunk_paths,)`` values of every declared variable.
    record_events : bool
        Keep the event log (components that log events read this flag).
    step_times : dict, optional
        Seconds per step name are added to it (the per-part cost report of
        ``benchmarks.stages``).
    check_invariants : bool, optional
        Run the invariant guards every day (default: ``HASHFLEET_CHECK=1``).
    """

    def __init__(
        self,
        model: EngineModel,
        seed: int,
        first_block: int,
        n_blocks: int,
        sink: DaySink,
        *,
        record_events: bool = True,
        step_times: dict[str, float] | None = None,
        check_invariants: bool | None = None,
    ) -> None:
        self.model = model
        self.env = simpy.Environment()
        self.n_paths = n_blocks * STREAM_BLOCK_PATHS
        self.path_offset = first_block * STREAM_BLOCK_PATHS
        self.sink = sink
        self.record_events = record_events
        self.step_times = step_times
        self._seed, self._first_block, self._n_blocks = seed, first_block, n_blocks
        self._proc_rngs = {
            p: BlockRNG.for_chunk(seed, first_block, n_blocks, p).generators
            for p, _ in model.processes
        }
        self._proc_states = {
            p: [proc.init_state(STREAM_BLOCK_PATHS) for _ in range(n_blocks)]
            for p, proc in model.processes
        }
        #: Cash and BTC held per path (set by the finance components at attach).
        self.cash_usd = np.zeros(self.n_paths)
        self.btc = np.zeros(self.n_paths)
        #: Paths still operating: a component that stops a path (an insolvent company) clears
        #: it with :meth:`stop_paths`; from then on every flow booked for it is 0.
        self.operating: NDArray[np.bool_] = np.ones(self.n_paths, dtype=bool)
        self._all_operating = True
        #: The run's event log, if a component keeps one.
        self.events: EventSource | None = None
        #: Events components log with :meth:`log_event` (None without an event log).
        self.event_book: EventBook | None = EventBook() if record_events else None
        self.window: dict[str, NDArray[np.float64]] = {}
        #: The day record (:class:`hashfleet.day.DayRecord`): values steps share today.
        self.today: Any = model.new_day()
        self.values: dict[str, NDArray[np.float64]] = {}
        #: Declared daily variables: name -> (unit, description).
        self.variables: dict[str, tuple[str, str]] = {}
        #: Variables whose per-path total over the run is reported.
        self.totalled: list[str] = []
        #: Variables that may be NaN ("does not exist on this path").
        self.nan_ok: set[str] = set()
        self._inflows: dict[str, NDArray[np.float64]] = {}
        self._outflows: dict[str, NDArray[np.float64]] = {}
        self._rngs: dict[str, BlockRNG] = {}
        self._services: dict[type, Any] = {}
        self._steps: list[tuple[int, int, str, Step]] = []
        on = checks_enabled() if check_invariants is None else check_invariants
        self.guard: InvariantGuard | None = InvariantGuard(self) if on else None
        self.add_step(10, "market", self._step_market)
        self.add_step(90, "record", self._step_record)
        for component in model.components:
            component.attach(self)
        self.env.process(self._clock())

    # ------------------------------------------------------------------ extension API

    def add_step(self, stage: int, name: str, fn: Step) -> None:
        """Run ``fn(day)`` in every daily tick at ``stage`` (lower first; ties by order added)."""
        self._steps.append((stage, len(self._steps), name, fn))
        self._steps.sort()

    def replace_step(self, name: str, fn: Step) -> None:
        """Replace the step called ``name`` (e.g. a different ``"supply"`` model)."""
        for i, (stage, order, n, _) in enumerate(self._steps):
            if n == name:
                self._steps[i] = (stage, order, name, fn)
                return
        raise KeyError(f"no step named {name!r}; steps: {[n for _, _, n, _ in self._steps]}")

    def declare(
        self, name: str, unit: str, description: str, *, total: bool = False, nan_ok: bool = False
    ) -> None:
        """Declare a daily per-path variable; set ``engine.values[name]`` every day.

        ``nan_ok``: NaN means "does not exist" on a path (an IRR without a root); the
        invariant guards then accept NaN (never ±inf) for it."""
        self.variables[name] = (unit, description)
        if total and name not in self.totalled:
            self.totalled.append(name)
        if nan_ok:
            self.nan_ok.add(name)

    def declare_all(self, table: dict[str, tuple[str, str, bool]]) -> None:
        """Declare every variable of ``table``: name -> (unit, description, totalled)."""
        for name, (unit, description, total) in table.items():
            self.declare(name, unit, description, total=total)

    def book(self, name: str, usd: NDArray[np.float64], *, outflow: bool = False) -> None:
        """Book a cash flow for today (USD per path, ≥ 0 for the usual direction).

        Each name is a daily variable (declared on first use, totalled over the run); cash
        moves by inflows − outflows at the ``settle`` stage.
        """
        if name not in self.variables:
            self.declare(name, "USD", ("outflow: " if outflow else "inflow: ") + name, total=True)
        if not self._all_operating:  # stopped paths neither earn nor pay
            usd = np.where(self.operating, usd, 0.0)
        flows = self._outflows if outflow else self._inflows
        flows[name] = flows[name] + usd if name in flows else np.asarray(usd, dtype=float)

    def log_event(self, kind: str, columns: dict[str, Any]) -> None:
        """Log a batch of per-path events (``engine/events.py``: numeric columns, ``path``
        — the global index — and ``time_days`` included); nothing without an event log."""
        if self.event_book is not None:
            self.event_book.log(kind, columns)

    def event_columns(self, *, release: bool = False) -> dict[str, dict[str, NDArray[Any]]]:
        """Every event kind of this chunk (the network's and the logged ones): kind ->
        columns; ``release`` drops them as they are handed over."""
        out: dict[str, dict[str, NDArray[Any]]] = {}
        for source in (self.events, self.event_book):
            if source is not None:
                for kind in source.kinds:
                    out[kind] = source.columns(kind, release=release)
        return out

    def stop_paths(self, mask: NDArray[np.bool_]) -> None:
        """Stop the paths in ``mask`` (n_paths,) for the rest of the run: flows booked for them
        from now on are 0, and components that act (the fleet's dispatch) read
        :attr:`operating`.  A stopped path is never restarted."""
        self.operating &= ~mask
        self._all_operating = bool(self.operating.all())

    def booked(self) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
        """Today's ledger so far: ``(inflows, outflows)``, name -> USD per path (read-only)."""
        return dict(self._inflows), dict(self._outflows)

    def rng(self, purpose: str) -> BlockRNG:
        """This chunk's per-stream-block generators for ``purpose`` (see ``streams.PURPOSES``)."""
        if purpose not in self._rngs:
            self._rngs[purpose] = BlockRNG.for_chunk(
                self._seed, self._first_block, self._n_blocks, purpose
            )
        return self._rngs[purpose]

    def add_process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a SimPy process on this chunk's calendar (time unit: days)."""
        return self.env.process(generator)

    def provide(self, service: T) -> T:
        """Make ``service`` (one object per type and chunk) available to later components."""
        self._services[type(service)] = service
        return service

    def service(self, kind: type[T]) -> T:
        """The service of type ``kind`` a component provided to this chunk."""
        try:
            found: T = self._services[kind]
        except KeyError:
            have = sorted(t.__name__ for t in self._services)
            raise LookupError(
                f"service: expected one of {have}, got {kind.__name__} (attach the component "
                "that provides it earlier)"
            ) from None
        return found

    def run_until(self, day: int) -> None:
        """Simulate every day before ``day`` not yet simulated."""
        self.env.run(until=day)

    # ------------------------------------------------------------------ calendar

    def _clock(self) -> Generator[simpy.Event, Any, None]:
        while self.env.now < self.model.n_days:
            yield self.env.timeout(0)  # let everything dated today happen first
            day = int(self.env.now)
            self.today = self.model.new_day()
            self.values = {}
            self._inflows, self._outflows = {}, {}
            timer = self.step_times
            if timer is None:
                for _, _, _, fn in self._steps:
                    fn(day)
            else:
                for _, _, name, fn in self._steps:
                    t0 = time.perf_counter()
                    fn(day)
                    timer[name] = timer.get(name, 0.0) + time.perf_counter() - t0
            yield self.env.timeout(1)

    # ------------------------------------------------------------------ kernel steps

    def _step_market(self, day: int) -> None:
        col = day % WINDOW_DAYS
        if col == 0:
            self._draw_window(day)
        self.today.set_exogenous({name: arr[:, col] for name, arr in self.window.items()})

    def _draw_window(self, first_day: int) -> None:
        B = STREAM_BLOCK_PATHS
        n_blocks = self.n_paths // B
        out: dict[str, NDArray[np.float64]] = {}
        for purpose, proc in self.model.processes:
            for name in proc.outputs:
                out.setdefault(name, np.empty((self.n_paths, WINDOW_DAYS)))
            for b in range(n_blocks):
                sl = slice(b * B, (b + 1) * B)
                inputs = {k: v[sl] for k, v in out.items() if k not in proc.outputs}
                drawn = proc.window(
                    self._proc_states[purpose][b],
                    self._proc_rngs[purpose][b],
                    first_day,
                    WINDOW_DAYS,
                    inputs,
                )
                for name in proc.outputs:
                    out[name][sl] = drawn[name]
        self.window = out

    def _step_record(self, day: int) -> None:
        v = self.values
        zero = None
        for name in self.variables:
            if name not in v:  # a flow not booked today is zero
                if zero is None:
                    zero = np.zeros(self.n_paths)
                v[name] = zero
        if self.guard is not None:
            self.guard.check_day(day)
        self.sink(day, self.path_offset, v)
