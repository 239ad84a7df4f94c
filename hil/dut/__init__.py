"""The device side of the bench: the MLPerf Tiny protocol client, input loaders, inputs, datasets and the tflite-micro reference."""
