// fluxguard's metrics: counters, gauges and histograms in one registry,
// rendered in the Prometheus text exposition format (version 0.0.4) by
// MetricsServer (metrics_server.h) or by expose() directly.
//
// Labels are fixed when a series is registered: the hot path is one relaxed
// atomic operation on an object the caller keeps a reference to, with no
// lookup, no lock and no allocation. So a resolver worker thread can count
// every answer it sees.
//
// Thread-safety: every member of Registry, Counter, Gauge and Histogram may
// be called from any thread at any time. Registering takes a mutex; updating a
// series does not; expose() takes the mutex only to copy the list of series.
// Series live as long as the registry (references stay valid; there is no
// removal). Gauge callbacks run on the thread calling expose() (the server's),
// must be thread-safe, quick, must not throw and must not call the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluxguard::metrics {

// Label name -> value, in the order they are to be printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
  public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
  public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double delta) noexcept;
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, ascending), plus
// their sum and count: Prometheus' histogram type.
class Histogram {
  public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double v) noexcept;
    const std::vector<double>& upper_bounds() const { return bounds_; }

    struct Snapshot {
        std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    Snapshot snapshot() const;

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
    std::atomic<double> sum_{0.0};
};

class Registry {
  public:
    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Returns the series of `name` with exactly these labels, creating it the
    // first time; the same call again gives the same object. Throws
    // std::invalid_argument for a name or label name Prometheus does not
    // accept, a name already registered as another type, or a callback
    // gauge registered twice.
    Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
    Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
    Histogram& histogram(std::string_view name, std::string_view help,
                         std::vector<double> upper_bounds, const Labels& labels = {});
    // A counter kept elsewhere (FleetStats::dropped, ::errors), read when
    // scraped; `read` must never go down.
    void counter_callback(std::string_view name, std::string_view help,
                          std::function<std::uint64_t()> read, const Labels& labels = {});
    // A gauge read when scraped (tracked domains, queue length, ...).
    void gauge_callback(std::string_view name, std::string_view help, std::function<double()> read,
                        const Labels& labels = {});

    // Every series in the text exposition format, families in the order of
    // their first registration.
    std::string expose() const;

    // Latency buckets in seconds, 100 µs to 10 s (for Redis round trips).
    static std::vector<double> latency_buckets();

  private:
    struct Family;
    struct Series;
    Family& family(std::string_view name, std::string_view help, int type);
    Series* find(Family& f, const Labels& labels);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Family>> families_;
};

// Prometheus' rules: names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* not starting with "__".
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace fluxguard::metrics
