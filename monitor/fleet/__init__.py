"""Past one vehicle: the alert uplink (MQTT v5, QoS 1, a cursor over the chained files) and the
fleet collector that verifies, deduplicates and files what arrives."""
