"""Event -> read-model functions. Pure: the service hands their output to the store."""
