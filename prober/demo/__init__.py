"""The demo's simulated SaaS API.

`prober.demo.scenarios` holds the pure scenario definitions; `prober.demo.sim` serves them
(`make_sim_app`, `start_sim`, `python -m prober.demo.sim`). This package deliberately does
not import `sim`, so running it with `-m` does not import the module twice.
"""
