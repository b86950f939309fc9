#include "io/engine_options.h"

namespace chainfs::io {

const base::OptionTable<EngineOptions>& engine_option_table() {
  static const base::OptionTable<EngineOptions> table = [] {
    base::OptionTable<EngineOptions> t;
    t.push_back(base::choice_option("completion", &EngineOptions::completion, completion_modes(),
                                    "where I/O completion work runs (default {default})"));
    t.back().echo = true;
    t.push_back(base::seconds_option("nbd_timeout", &EngineOptions::nbd_timeout_s,
                                     "NBD devices: a request the server does not answer in\n"
                                     "time fails with EIO and the connection is re-made (default {default})"));
    return t;
  }();
  return table;
}

}  // namespace chainfs::io
