"""Neural-network building blocks: modules, layers, initialisation, the functional API."""
