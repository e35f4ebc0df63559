#include "registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace fluxguard::metrics {

namespace {

enum Type { kCounter, kGauge, kHistogram };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

void atomic_add(std::atomic<double>& a, double delta) noexcept {
    double old = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(old, old + delta, std::memory_order_relaxed)) {
    }
}

// Go's ParseFloat reads what Prometheus reads: shortest round-trip form,
// and NaN / +Inf / -Inf spelled its way.
std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[128];
    // Plain decimals ("0.0005", not "5e-04") where that stays short.
    const double a = std::fabs(v);
    const bool fixed = a == 0 || (a >= 1e-6 && a < 1e15);
    auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                           : std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string escape(std::string_view s, bool quote) {
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out.push_back(c);
    }
    return out;
}

std::string label_text(const Labels& labels, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return "";
    std::string out = "{";
    for (const auto& [k, v] : labels) {
        if (out.size() > 1) out += ',';
        out += k + "=\"" + escape(v, true) + "\"";
    }
    if (!extra_name.empty()) {
        if (out.size() > 1) out += ',';
        out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
    }
    return out + "}";
}

}  // namespace

bool valid_metric_name(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool letter =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

bool valid_label_name(std::string_view n) {
    if (n.empty() || n.starts_with("__")) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

void Gauge::add(double delta) noexcept { atomic_add(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
    if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end() ||
        std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); }))
        throw std::invalid_argument("histogram buckets must be finite, distinct and ascending");
    buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
    const auto it =
        std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v: le semantics
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1,
                                                                       std::memory_order_relaxed);
    atomic_add(sum_, v);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        total += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(total);
    }
    // The count is the +Inf bucket of the same reading, so they never disagree.
    s.count = total;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

struct Registry::Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
    std::function<std::uint64_t()> read_count;
};

struct Registry::Family {
    std::string name;
    std::string help;
    int type = kCounter;
    std::vector<std::unique_ptr<Series>> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(std::string_view name, std::string_view help, int type) {
    if (!valid_metric_name(name))
        throw std::invalid_argument("metric name '" + std::string(name) +
                                    "' is not a valid Prometheus name");
    for (auto& f : families_) {
        if (f->name != name) continue;
        if (f->type != type)
            throw std::invalid_argument("metric '" + std::string(name) +
                                        "' is already registered as a " + kTypeNames[f->type]);
        return *f;
    }
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    families_.push_back(std::move(f));
    return *families_.back();
}

Registry::Series* Registry::find(Family& f, const Labels& labels) {
    for (const auto& [k, v] : labels)
        if (!valid_label_name(k) || (f.type == kHistogram && k == "le"))
            throw std::invalid_argument("label name '" + k + "' of metric '" + f.name +
                                        "' is not valid");
    for (auto& s : f.series)
        if (s->labels == labels) return s.get();
    f.series.push_back(std::make_unique<Series>());
    f.series.back()->labels = labels;
    return f.series.back().get();
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series* s = find(family(name, help, kCounter), labels);
    if (s->read_count)
        throw std::invalid_argument("counter '" + std::string(name) + "' is read by a callback");
    if (!s->counter) s->counter = std::make_unique<Counter>();
    return *s->counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series* s = find(family(name, help, kGauge), labels);
    if (s->read)
        throw std::invalid_argument("gauge '" + std::string(name) + "' is read by a callback");
    if (!s->gauge) s->gauge = std::make_unique<Gauge>();
    return *s->gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> upper_bounds, const Labels& labels) {
    std::lock_guard lock(mutex_);
    Series* s = find(family(name, help, kHistogram), labels);
    if (!s->histogram)
        s->histogram = std::make_unique<Histogram>(std::move(upper_bounds));
    else if (s->histogram->upper_bounds() != upper_bounds)
        throw std::invalid_argument("histogram '" + std::string(name) +
                                    "' registered with other buckets");
    return *s->histogram;
}

void Registry::counter_callback(std::string_view name, std::string_view help,
                                std::function<std::uint64_t()> read, const Labels& labels) {
    if (!read)
        throw std::invalid_argument("counter callback of '" + std::string(name) + "' is empty");
    std::lock_guard lock(mutex_);
    Series* s = find(family(name, help, kCounter), labels);
    if (s->read_count || s->counter)
        throw std::invalid_argument("counter '" + std::string(name) +
                                    "' with these labels is already registered");
    s->read_count = std::move(read);
}

void Registry::gauge_callback(std::string_view name, std::string_view help,
                              std::function<double()> read, const Labels& labels) {
    if (!read)
        throw std::invalid_argument("gauge callback of '" + std::string(name) + "' is empty");
    std::lock_guard lock(mutex_);
    Series* s = find(family(name, help, kGauge), labels);
    if (s->read || s->gauge)
        throw std::invalid_argument("gauge '" + std::string(name) +
                                    "' with these labels is already registered");
    s->read = std::move(read);
}

std::string Registry::expose() const {
    // Copy the lists under the lock; read the values without it (series are
    // never removed, so the pointers stay valid).
    struct View {
        const Family* family;
        std::vector<const Series*> series;
        std::string name, help;
        int type;
    };
    std::vector<View> views;
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : families_) {
            View v{f.get(), {}, f->name, f->help, f->type};
            for (const auto& s : f->series) v.series.push_back(s.get());
            views.push_back(std::move(v));
        }
    }
    std::string out;
    for (const auto& v : views) {
        if (v.series.empty()) continue;
        out += "# HELP " + v.name + " " + escape(v.help, false) + "\n";
        out += "# TYPE " + v.name + " " + kTypeNames[v.type] + "\n";
        for (const Series* s : v.series) {
            if (s->counter) {
                out += v.name + label_text(s->labels) + " " + std::to_string(s->counter->value()) +
                       "\n";
            } else if (s->read_count) {
                std::string text = "NaN";
                try {
                    text = std::to_string(s->read_count());
                } catch (...) {
                }
                out += v.name + label_text(s->labels) + " " + text + "\n";
            } else if (s->gauge) {
                out += v.name + label_text(s->labels) + " " + number(s->gauge->value()) + "\n";
            } else if (s->read) {
                double value = 0;
                try {
                    value = s->read();
                } catch (...) {
                    value = std::nan("");  // a broken callback must not take the endpoint down
                }
                out += v.name + label_text(s->labels) + " " + number(value) + "\n";
            } else if (s->histogram) {
                const auto snap = s->histogram->snapshot();
                const auto& bounds = s->histogram->upper_bounds();
                for (std::size_t i = 0; i < bounds.size(); ++i)
                    out += v.name + "_bucket" + label_text(s->labels, "le", number(bounds[i])) +
                           " " + std::to_string(snap.cumulative[i]) + "\n";
                out += v.name + "_bucket" + label_text(s->labels, "le", "+Inf") + " " +
                       std::to_string(snap.count) + "\n";
                out += v.name + "_sum" + label_text(s->labels) + " " + number(snap.sum) + "\n";
                out += v.name + "_count" + label_text(s->labels) + " " +
                       std::to_string(snap.count) + "\n";
            }
        }
    }
    return out;
}

std::vector<double> Registry::latency_buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
            0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

}  // namespace fluxguard::metrics
