#pragma once
// Option tables: each layer declares the mount options it owns once, in a table over its
// own settings struct C (name, allowed values, default, help text, how to set and show the
// value). The command line parses with the tables, --help prints them, the statistics echo
// the chosen values from them and the bench takes its lists of values from them; a layer
// built on another lifts the lower table into its own struct (lift), so a new value of an
// option touches only the layer that owns it.
//
// Help lines look like "    -o name=VALUES          text"; the text may continue on more
// lines ('\n'), which are indented to the text's column, and "{default}" in it becomes the
// default's spelling (the value in a default-constructed C).
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chainfs::base {

// One allowed value of an enumerated option.
template <class E>
struct Choice {
  std::string_view name;
  E value;
};

template <class E>
std::optional<E> parse_choice(std::span<const Choice<E>> choices, std::string_view name) {
  for (const auto& c : choices)
    if (c.name == name) return c.value;
  return std::nullopt;
}

// The spelling of v, or "?" for a value not in the list.
template <class E>
const char* choice_name(std::span<const Choice<E>> choices, E v) {
  for (const auto& c : choices)
    if (c.value == v) return c.name.data();
  return "?";
}

// "a|b|c".
template <class E>
std::string choice_list(std::span<const Choice<E>> choices) {
  std::string out;
  for (const auto& c : choices) {
    if (!out.empty()) out += '|';
    out += c.name;
  }
  return out;
}

// The spellings, in order.
template <class E>
std::vector<std::string> choice_names(std::span<const Choice<E>> choices) {
  std::vector<std::string> out;
  for (const auto& c : choices) out.emplace_back(c.name);
  return out;
}

template <class C>
struct Option {
  std::string name;    // the key of -o key=value
  std::string values;  // what follows '=' in --help ("sync|page|chain", "SIZE"); empty: a flag
  std::string help;    // see the header comment
  // Sets the value from the text after '=' (empty for a bare key): 0, or -EINVAL with
  // *error set to one line naming the key and what it accepts.
  std::function<int(C& c, std::string_view value, std::string* error)> set;
  // The value's spelling (the default in --help, the statistics' echo).
  std::function<std::string(const C& c)> text;
  // The value as a number, for options shown as numbers (cache_size).
  std::function<uint64_t(const C& c)> number;
  // The statistics echo the value (the strategies a run is compared by).
  bool echo = false;
};

template <class C>
using OptionTable = std::vector<Option<C>>;

// "4096", "64K", "512M", "2G", "1T" (binary multiples, optional trailing "B"/"iB").
inline std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit.ends_with("iB")) unit.remove_suffix(2);
  else if (unit.size() > 1 && unit.ends_with("B")) unit.remove_suffix(1);
  unsigned shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "k") shift = 10;
  else if (unit == "M" || unit == "m") shift = 20;
  else if (unit == "G" || unit == "g") shift = 30;
  else if (unit == "T" || unit == "t") shift = 40;
  else return std::nullopt;
  if (shift && n > (std::numeric_limits<uint64_t>::max() >> shift)) return std::nullopt;
  return n << shift;
}

// "bad value in -o key=value: expected what".
inline std::string bad_value(std::string_view key, std::string_view value, std::string_view what) {
  std::string s = "bad value in -o ";
  s.append(key).append("=").append(value).append(": expected ").append(what);
  return s;
}

// An enumerated option stored in c.*field.
template <class C, class E>
Option<C> choice_option(std::string name, E C::*field, std::span<const Choice<E>> choices, std::string help) {
  Option<C> o;
  o.values = choice_list(choices);
  o.help = std::move(help);
  o.set = [name, field, choices](C& c, std::string_view value, std::string* error) {
    auto v = parse_choice(choices, value);
    if (!v) {
      *error = bad_value(name, value, choice_list(choices));
      return -EINVAL;
    }
    c.*field = *v;
    return 0;
  };
  o.text = [field, choices](const C& c) { return std::string(choice_name(choices, c.*field)); };
  o.name = std::move(name);
  return o;
}

// Whole seconds from 1 to 3600, stored in c.*field.
template <class C>
Option<C> seconds_option(std::string name, unsigned C::*field, std::string help) {
  Option<C> o;
  o.values = "SECS";
  o.help = std::move(help);
  o.set = [name, field](C& c, std::string_view value, std::string* error) {
    unsigned v = 0;
    bool ok = !value.empty();
    for (char ch : value) {
      if (ch < '0' || ch > '9' || (v = v * 10 + static_cast<unsigned>(ch - '0')) > 3600) {
        ok = false;
        break;
      }
    }
    if (!ok || v == 0) {
      *error = bad_value(name, value, "seconds, 1 to 3600");
      return -EINVAL;
    }
    c.*field = v;
    return 0;
  };
  o.text = [field](const C& c) { return std::to_string(c.*field); };
  o.name = std::move(name);
  return o;
}

// The options of a part (part_field of Outer, whose table is t) as options of Outer.
template <class Outer, class Part>
OptionTable<Outer> lift(Part Outer::*part_field, const OptionTable<Part>& t) {
  OptionTable<Outer> out;
  for (const Option<Part>& p : t) {
    Option<Outer> o;
    o.name = p.name;
    o.values = p.values;
    o.help = p.help;
    o.echo = p.echo;
    o.set = [part_field, set = p.set](Outer& c, std::string_view v, std::string* e) { return set(c.*part_field, v, e); };
    if (p.text) o.text = [part_field, f = p.text](const Outer& c) { return f(c.*part_field); };
    if (p.number) o.number = [part_field, f = p.number](const Outer& c) { return f(c.*part_field); };
    out.push_back(std::move(o));
  }
  return out;
}

// Appends the options of t to out (a table built of several parts).
template <class C>
void append_table(OptionTable<C>* out, OptionTable<C> t) {
  for (Option<C>& o : t) out->push_back(std::move(o));
}

template <class C>
const Option<C>* find_option(const OptionTable<C>& t, std::string_view key) {
  for (const Option<C>& o : t)
    if (o.name == key) return &o;
  return nullptr;
}

// Sets key from value: 0, -EINVAL with *error set (a bad value), or -ENOENT for a key the
// table does not know (the caller may try another table).
template <class C>
int set_option(const OptionTable<C>& t, C& c, std::string_view key, std::string_view value, std::string* error) {
  const Option<C>* o = find_option(t, key);
  return o ? o->set(c, value, error) : -ENOENT;
}

// Sets an option from one item of "-o": "key=value" for an option that takes a value, a bare
// "key" for a flag. An item in the other form than its option's is not the table's: -ENOENT.
template <class C>
int set_option_arg(const OptionTable<C>& t, C& c, std::string_view arg, std::string* error) {
  const auto eq = arg.find('=');
  const bool has_value = eq != std::string_view::npos;
  const Option<C>* o = find_option(t, arg.substr(0, eq));
  if (!o || o->values.empty() == has_value) return -ENOENT;
  return o->set(c, has_value ? arg.substr(eq + 1) : std::string_view(), error);
}

// The --help lines of t (see the header comment).
template <class C>
std::string option_help(const OptionTable<C>& t) {
  constexpr size_t kTextColumn = 28;
  const C defaults{};
  std::string out;
  for (const Option<C>& o : t) {
    std::string head = "    -o " + o.name + (o.values.empty() ? "" : "=" + o.values);
    std::string help = o.help;
    if (auto at = help.find("{default}"); at != std::string::npos) {
      std::string d = o.number ? std::to_string(o.number(defaults)) : o.text ? o.text(defaults) : "";
      help.replace(at, 9, d);
    }
    out += head;
    out += head.size() + 2 <= kTextColumn ? std::string(kTextColumn - head.size(), ' ') : std::string(2, ' ');
    for (char ch : help) {
      out += ch;
      if (ch == '\n') out += std::string(kTextColumn, ' ');
    }
    out += '\n';
  }
  return out;
}

// Calls f(name, text) or f(name, number) for every option of t that is echoed.
template <class C, class F>
void for_each_echo(const OptionTable<C>& t, const C& c, F&& f) {
  for (const Option<C>& o : t) {
    if (!o.echo) continue;
    if (o.number) f(o.name, o.number(c));
    else if (o.text) f(o.name, o.text(c));
  }
}

}  // namespace chainfs::base
