{
  # node-gyp tooling (node-gyp-build's fallback, prebuildify) builds through this file, but the
  # flags live in one place only: CMakeLists.txt (find_package(Torch)), driven by cmake-js.
  # This target hands off to scripts/install/build.js and declares no compile or link flags of its own.
  "targets": [
    {
      "target_name": "jepa_native",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(module_root_dir)/build/Release/jepa_native.node"],
          "action": ["node", "<(module_root_dir)/scripts/install/build.js"]
        }
      ]
    }
  ]
}
