package harness

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Gather reads a registry's counters, gauges and histogram counts (as
// name_count) by "name,label=value,..." (labels in the registry's order).
func Gather(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				values[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				values[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				values[name+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return values
}
