"""Source adapters by `type` in pipeline.yaml."""

from producer.adapters.base import Adapter, MappingError, Page
from producer.adapters.open_meteo import OpenMeteoAdapter
from producer.adapters.simulator import SimulatorAdapter
from producer.adapters.usgs_earthquakes import UsgsEarthquakesAdapter

ADAPTERS: dict[str, Adapter] = {
    "simulator": SimulatorAdapter(),
    "usgs_earthquakes": UsgsEarthquakesAdapter(),
    "open_meteo": OpenMeteoAdapter(),
}

__all__ = ["ADAPTERS", "Adapter", "MappingError", "Page"]
