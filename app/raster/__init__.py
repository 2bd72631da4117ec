"""Raster layers as a service: zonal statistics over the active raster versions."""
