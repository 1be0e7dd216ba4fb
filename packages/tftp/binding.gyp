{
  "targets": [
    {
      "target_name": "tftp_wire",
      "sources": ["native/wire.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
