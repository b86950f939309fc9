#include "base/option_table.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <string>

using namespace chainfs::base;

namespace {

enum class Colour { kRed, kBlue };
constexpr Choice<Colour> kColours[] = {{"red", Colour::kRed}, {"blue", Colour::kBlue}};

struct Inner {
  Colour colour = Colour::kBlue;
};
struct Outer {
  Inner inner;
  unsigned secs = 5;
  bool flag = false;
};

OptionTable<Outer> table() {
  OptionTable<Outer> t;
  OptionTable<Inner> inner;
  inner.push_back(choice_option("colour", &Inner::colour, std::span<const Choice<Colour>>(kColours),
                                "what colour (default {default})"));
  inner.back().echo = true;
  t = lift(&Outer::inner, inner);
  append_table(&t, {seconds_option("secs", &Outer::secs, "how long\nin seconds")});
  Option<Outer> flag;
  flag.name = "flag";
  flag.help = "a flag";
  flag.set = [](Outer& o, std::string_view, std::string*) {
    o.flag = true;
    return 0;
  };
  t.push_back(std::move(flag));
  return t;
}

}  // namespace

TEST_CASE("set_option sets lifted, choice and seconds options, and names what a bad value should be") {
  const auto t = table();
  Outer o;
  std::string err;
  CHECK(set_option(t, o, "colour", "red", &err) == 0);
  CHECK(o.inner.colour == Colour::kRed);
  CHECK(set_option(t, o, "colour", "green", &err) == -EINVAL);
  CHECK(err == "bad value in -o colour=green: expected red|blue");
  CHECK(o.inner.colour == Colour::kRed);
  CHECK(set_option(t, o, "secs", "3600", &err) == 0);
  CHECK(o.secs == 3600);
  for (const char* bad : {"0", "3601", "5s", "", "-1", "99999999999"}) {
    CAPTURE(bad);
    CHECK(set_option(t, o, "secs", bad, &err) == -EINVAL);
    CHECK(err == std::string("bad value in -o secs=") + bad + ": expected seconds, 1 to 3600");
  }
  CHECK(o.secs == 3600);
  CHECK(set_option(t, o, "size", "1", &err) == -ENOENT);
}

TEST_CASE("set_option_arg: a flag is a bare key, an option with values needs '='") {
  const auto t = table();
  Outer o;
  std::string err;
  CHECK(set_option_arg(t, o, "flag", &err) == 0);
  CHECK(o.flag);
  CHECK(set_option_arg(t, o, "flag=1", &err) == -ENOENT);
  CHECK(set_option_arg(t, o, "colour", &err) == -ENOENT);
  CHECK(set_option_arg(t, o, "colour=red", &err) == 0);
  CHECK(o.inner.colour == Colour::kRed);
  CHECK(set_option_arg(t, o, "colour=", &err) == -EINVAL);
}

TEST_CASE("option_help aligns the text, indents continuation lines and names the default") {
  CHECK(option_help(table()) ==
        "    -o colour=red|blue      what colour (default blue)\n"
        "    -o secs=SECS            how long\n"
        "                            in seconds\n"
        "    -o flag                 a flag\n");
}

TEST_CASE("for_each_echo reports only the options marked for the statistics") {
  Outer o;
  std::string seen;
  for_each_echo(table(), o, [&](const std::string& k, const auto& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) seen += k + "=" + v + ";";
  });
  CHECK(seen == "colour=blue;");
}

TEST_CASE("parse_size understands binary suffixes and rejects junk") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("64K") == 65536u);
  CHECK(parse_size("2G") == (2ull << 30));
  CHECK(parse_size("1GiB") == (1ull << 30));
  CHECK(parse_size("3MB") == (3ull << 20));
  CHECK(parse_size("1T") == (1ull << 40));
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("M"));
  CHECK_FALSE(parse_size("12X"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("99999999999999T"));
}
