"""Studies: what runs many simulations.

* :mod:`~hashfleet.studies.compare` — a scenario's strategies on common random numbers;
* :mod:`~hashfleet.studies.sweep` — a grid or zip of scenarios on a backend;
* :mod:`~hashfleet.studies.backtest` — the network model against history;
* :mod:`~hashfleet.studies.calibration` — fit the network model to history.
"""
