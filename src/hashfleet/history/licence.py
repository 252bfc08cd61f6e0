"""Which shipped data a run may use by default, and the opt-in for the rest.

Every default of hashfleet runs on data whose licence permits commercial use:

* ``btc_difficulty_epochs.csv`` (heights, header times, ``bits``; bitcoinj checkpoints,
  Apache-2.0) and the on-chain columns of ``btc_daily.csv`` — ``difficulty``, ``blocks``,
  ``hashrate_ehs`` (blocks · difficulty · 2^32 / 86,400), ``subsidy_btc``, ``fees_btc`` —
  are facts of the public chain: the network state at a start date
  (:func:`hashfleet.history.network_state_at`), the ``csv`` hashrate path and the fee
  statistics read them freely.
* The BTC **price** columns of ``btc_daily.csv`` (``price_usd``, ``miner_revenue_usd``,
  ``src_price``) are Coin Metrics community data (CC BY-NC 4.0) up to 2020-07-27 and Yahoo
  Finance closes after: not licensed for commercial use.  No permissively licensed daily BTC
  price series was found to replace them (the candidates are re-publications of exchange,
  Yahoo or Coin Metrics data under a licence their publisher cannot grant).  They are
  therefore **opt-in**: ``hashfleet --non-commercial-data ...``, the environment variable
  :data:`ENV_VAR` (``HASHFLEET_NONCOMMERCIAL_DATA=1``) or :func:`allow_non_commercial_data`.
  When used, their licence is logged once per process (logger ``hashfleet.data``, printed
  on standard error by the CLI).

What needs the opt-in: the default start price of a price model (the history's close of the
day before the start; give ``market.btc_price.start_usd`` instead), the ``bootstrap`` price
model, a ``csv`` price path on ``builtin:btc_daily``, ``hashfleet calibrate`` and
``hashfleet backtest`` (they drive the network with the real price), and the price crash of
``hashfleet stress`` without a start price.  Without it, a capital plan's drawdown indicator
starts its running maximum at the day-0 price instead of the past year's highest close.
"""

from __future__ import annotations

import functools
import logging
import os

from hashfleet.errors import DataError

__all__ = [
    "ENV_VAR",
    "NON_COMMERCIAL_COLUMNS",
    "NOTICE",
    "allow_non_commercial_data",
    "non_commercial_allowed",
    "require_non_commercial",
]

#: Environment variable that enables the non-commercial data (``1``, ``true`` or ``yes``).
ENV_VAR = "HASHFLEET_NONCOMMERCIAL_DATA"

#: Columns of ``btc_daily.csv`` under the non-commercial licence.
NON_COMMERCIAL_COLUMNS = frozenset({"price_usd", "miner_revenue_usd", "src_price"})

#: What is shown when the data is used.
NOTICE = (
    "using the BTC price history shipped with hashfleet (btc_daily.csv price_usd): Coin "
    "Metrics community data, CC BY-NC 4.0 (https://creativecommons.org/licenses/by-nc/4.0/), "
    "credit Coin Metrics (https://coinmetrics.io), no commercial use; Yahoo Finance closes "
    "after 2020-07-27 (Yahoo's terms apply)"
)


def allow_non_commercial_data(allowed: bool = True) -> None:
    """Enable (or disable) the non-commercial price history for this process and the worker
    processes it starts (sets or removes :data:`ENV_VAR`).

    Parameters
    ----------
    allowed : bool
        ``True``: the price history may be used (its licence is logged when it is).
    """
    if allowed:
        os.environ[ENV_VAR] = "1"
    else:
        os.environ.pop(ENV_VAR, None)


def non_commercial_allowed() -> bool:
    """True if the non-commercial price history is enabled (:data:`ENV_VAR`)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


def require_non_commercial(what: str) -> None:
    """Raise unless the non-commercial price history is enabled; log its licence once.

    Parameters
    ----------
    what : str
        What needs the data, for the message (e.g. ``"market.btc_price.start_usd"``).

    Raises
    ------
    DataError
        The data is not enabled: the message says what needs it, its licence, and how to
        give the value instead or enable the data.
    """
    if not non_commercial_allowed():
        raise DataError(
            f"{what}: needs the shipped BTC price history, which is licensed for "
            "non-commercial use only (Coin Metrics community data, CC BY-NC 4.0); give the "
            "value yourself (e.g. market.btc_price.start_usd, or a price CSV of your own), "
            f"or enable that data with `hashfleet --non-commercial-data ...` or {ENV_VAR}=1"
        )
    _notice()


@functools.cache
def _notice() -> None:
    """Log the licence of the price history, once per process."""
    logging.getLogger("hashfleet.data").warning("hashfleet: %s", NOTICE)
