package main

// The deployment (issue 10): every kustomize overlay under k8s/ is built with
// kustomize as a library, every object is decoded strictly into its
// k8s.io/api type (an unknown or misspelt field is an error), and the result
// is checked against the service itself: the probe paths against the routes
// handlers registers and the handler serve answers with while it starts, the
// ports against the listen address serve resolves, every UTILREVIEW_* name
// against the keys serve's and `rules publish`'s own configuration code asks
// for, the whole environment against serve's configuration check, the rules
// ConfigMap against `rules validate`. The security settings the issue names
// are checked too, and TestK8sChecksFail proves each check can fail. No network.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
	"github.com/utilreview/utilreview/service/rules"
)

// k8sRoot is the manifests' directory, from this package's directory.
const k8sRoot = "../../k8s"

// The overlays, and what each must satisfy beyond the common checks.
var k8sOverlays = []struct {
	dir         string
	minReplicas int32 // the Deployment's replicas and the HPA's minReplicas
	devRedis    bool  // a Redis of its own in the overlay (dev); else external
}{
	{"overlays/dev", 1, true},
	{"overlays/prod", 2, false},
}

// The names of the objects the checks look for (base/).
const (
	k8sApp       = "utilreview"
	k8sServeComp = "serve"
	k8sJobComp   = "rules-publish"
	k8sUID       = 65532 // the distroless nonroot user, the Dockerfile's USER
)

// manifests is one overlay's output, decoded.
type manifests struct {
	overlay         string
	minReplicas     int32
	devRedis        bool
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	jobs            []*batchv1.Job
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	serviceAccounts []*corev1.ServiceAccount
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy

	// Set by checkServe: the container port serve listens on, and its name;
	// the destinations serve's configuration names, which the NetworkPolicy
	// must let it reach.
	listenPort     int32
	listenPortName string
	destinations   []destination
}

// destination is a place serve calls: what it is, and its TCP port.
type destination struct {
	what string
	port int32
}

// urlPort is a URL's port, or its scheme's default.
func urlPort(raw string) (int32, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseInt(p, 10, 32)
		return int32(n), err
	}
	switch u.Scheme {
	case "http":
		return 80, nil
	case "https":
		return 443, nil
	case "redis", "rediss":
		return 6379, nil
	}
	return 0, fmt.Errorf("no port in %q", raw)
}

// buildOverlay runs kustomize over dir (as `kubectl apply -k` would: the
// default options, files only from within the kustomization's root).
func buildOverlay(t *testing.T, dir string) [][]byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(k8sRoot, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out [][]byte
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s/%s as YAML: %v", dir, r.GetKind(), r.GetName(), err)
		}
		out = append(out, y)
	}
	return out
}

// decodeStrict decodes one object into its k8s.io/api type: an unknown field,
// a duplicate one, a value of the wrong type or an unknown kind is an error.
func (m *manifests) decodeStrict(y []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(y, &head); err != nil {
		return err
	}
	id := head.Kind + "/" + head.Metadata.Name
	want := map[string]string{
		"Deployment": "apps/v1", "StatefulSet": "apps/v1", "Job": "batch/v1", "Service": "v1", "ConfigMap": "v1",
		"Secret": "v1", "ServiceAccount": "v1", "HorizontalPodAutoscaler": "autoscaling/v2",
		"PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
	}[head.Kind]
	if want == "" {
		return fmt.Errorf("%s: kind %s (%s) is not one the test knows: add it to decodeStrict", id, head.Kind, head.APIVersion)
	}
	if head.APIVersion != want {
		return fmt.Errorf("%s: apiVersion %s, want %s", id, head.APIVersion, want)
	}
	strict := func(obj any) error { return unmarshalStrict(id, y, obj) }
	switch head.Kind {
	case "Deployment":
		o := &appsv1.Deployment{}
		m.deployments = append(m.deployments, o)
		return strict(o)
	case "StatefulSet":
		o := &appsv1.StatefulSet{}
		m.statefulSets = append(m.statefulSets, o)
		return strict(o)
	case "Job":
		o := &batchv1.Job{}
		m.jobs = append(m.jobs, o)
		return strict(o)
	case "Service":
		o := &corev1.Service{}
		m.services = append(m.services, o)
		return strict(o)
	case "ConfigMap":
		o := &corev1.ConfigMap{}
		m.configMaps = append(m.configMaps, o)
		return strict(o)
	case "Secret":
		o := &corev1.Secret{}
		m.secrets = append(m.secrets, o)
		return strict(o)
	case "ServiceAccount":
		o := &corev1.ServiceAccount{}
		m.serviceAccounts = append(m.serviceAccounts, o)
		return strict(o)
	case "HorizontalPodAutoscaler":
		o := &autoscalingv2.HorizontalPodAutoscaler{}
		m.hpas = append(m.hpas, o)
		return strict(o)
	case "PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		m.pdbs = append(m.pdbs, o)
		return strict(o)
	case "NetworkPolicy":
		o := &networkingv1.NetworkPolicy{}
		m.netpols = append(m.netpols, o)
		return strict(o)
	}
	return nil
}

// unmarshalStrict decodes YAML as the API server reads JSON: field names
// case-sensitive (encoding/json, and so sigs.k8s.io/yaml's UnmarshalStrict,
// would take "readOnlyRootFileSystem" for readOnlyRootFilesystem), unknown and
// duplicate fields errors.
func unmarshalStrict(id string, y []byte, obj any) error {
	j, err := sigsyaml.YAMLToJSONStrict(y)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, obj)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("%s: %w", id, errors.Join(strictErrs...))
	}
	return nil
}

// loadOverlay builds and decodes one overlay.
func loadOverlay(t *testing.T, i int) *manifests {
	t.Helper()
	o := k8sOverlays[i]
	m := &manifests{overlay: o.dir, minReplicas: o.minReplicas, devRedis: o.devRedis}
	for _, y := range buildOverlay(t, o.dir) {
		if err := m.decodeStrict(y); err != nil {
			t.Fatalf("%s: strict decoding: %v", o.dir, err)
		}
	}
	return m
}

// clone is a deep copy, for the checks that must fail.
func (m *manifests) clone() *manifests {
	c := *m
	c.deployments = cloneAll(m.deployments, (*appsv1.Deployment).DeepCopy)
	c.statefulSets = cloneAll(m.statefulSets, (*appsv1.StatefulSet).DeepCopy)
	c.jobs = cloneAll(m.jobs, (*batchv1.Job).DeepCopy)
	c.services = cloneAll(m.services, (*corev1.Service).DeepCopy)
	c.configMaps = cloneAll(m.configMaps, (*corev1.ConfigMap).DeepCopy)
	c.secrets = cloneAll(m.secrets, (*corev1.Secret).DeepCopy)
	c.serviceAccounts = cloneAll(m.serviceAccounts, (*corev1.ServiceAccount).DeepCopy)
	c.hpas = cloneAll(m.hpas, (*autoscalingv2.HorizontalPodAutoscaler).DeepCopy)
	c.pdbs = cloneAll(m.pdbs, (*policyv1.PodDisruptionBudget).DeepCopy)
	c.netpols = cloneAll(m.netpols, (*networkingv1.NetworkPolicy).DeepCopy)
	return &c
}

func cloneAll[T any](in []*T, cp func(*T) *T) []*T {
	out := make([]*T, len(in))
	for i, x := range in {
		out[i] = cp(x)
	}
	return out
}

// The service's own configuration, read from its code.

// recordingGetenv answers from env and remembers every key asked for.
func recordingGetenv(env map[string]string, asked map[string]bool) func(string) string {
	return func(k string) string {
		asked[k] = true
		return env[k]
	}
}

// serveEnvKeys is every environment variable `utilreview serve`'s
// configuration reads (parseServeFlags, the engine flags, the owners): the
// keys its getenv is asked for.
func serveEnvKeys() map[string]bool {
	asked := map[string]bool{}
	_, _ = parseServeFlags(nil, recordingGetenv(nil, asked), io.Discard, io.Discard)
	return asked
}

// rulesPublishEnvKeys is every variable `rules publish` reads.
func rulesPublishEnvKeys() map[string]bool {
	asked := map[string]bool{}
	newRulesStoreFlags("rules publish", recordingGetenv(nil, asked), io.Discard)
	return asked
}

// otelEnvKeys is the OTEL_* variables serve honours: those setupTracing
// itself reads (whether to export at all), and those the OpenTelemetry Go SDK
// packages it uses read when it does (sdk/resource: OTEL_RESOURCE_ATTRIBUTES;
// sdk/trace: the sampler and batch span processor; autoexport and
// otlptrace: the exporter, protocol, endpoint, headers, timeout,
// compression; https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
// OTEL_SERVICE_NAME is left out on purpose: setupTracing sets service.name
// itself and it wins; OTEL_PROPAGATORS too: the propagators are set in code.
func otelEnvKeys() map[string]bool {
	asked := map[string]bool{}
	if _, shutdown, err := setupTracing(context.Background(), recordingGetenv(nil, asked), "test"); err == nil {
		_ = shutdown(context.Background())
	}
	for _, k := range []string{
		"OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_CERTIFICATE",
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	} {
		asked[k] = true
	}
	return asked
}

// fakeIntake stands in for the queue: the routes are what the test looks at.
type fakeIntake struct{}

func (fakeIntake) Admit(context.Context, queue.Entry) (queue.Admission, error) { return 0, nil }
func (fakeIntake) RequestCatchUp(context.Context, string) error                { return nil }
func (fakeIntake) ObserveEvent(context.Context, string, []int64) (bool, error) { return false, nil }

// serviceHandlers are serve's two HTTP handlers: the one that answers while
// it starts (waiting for Redis and the rules) and the wired routes (every
// readiness check passing, a metrics registry).
func serviceHandlers() (whileStarting, wired http.Handler, err error) {
	srv, err := handlers.New(handlers.Config{
		WebhookSecret: strings.Repeat("s", 32),
		Registerer:    prometheus.NewRegistry(),
		Ready:         map[string]handlers.Checker{"all": func(context.Context) error { return nil }},
	}, fakeIntake{}, nil)
	if err != nil {
		return nil, nil, err
	}
	return http.HandlerFunc(starting), srv.Handler(), nil
}

func getStatus(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// The checks.

// problems collects what is wrong, each with the object it concerns.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// check runs every check over an overlay's manifests and returns what fails.
func (m *manifests) check() []string {
	var p problems
	if len(m.secrets) > 0 {
		p.add("Secret %s: secret values are never in git; reference a Secret created out of band", m.secrets[0].Name)
	}
	deploy := findOne(&p, "Deployment", m.deployments, func(d *appsv1.Deployment) bool {
		return d.Spec.Template.Labels["app.kubernetes.io/component"] == k8sServeComp
	})
	job := findOne(&p, "rules publish Job", m.jobs, func(j *batchv1.Job) bool {
		return j.Spec.Template.Labels["app.kubernetes.io/component"] == k8sJobComp
	})
	if deploy == nil || job == nil {
		return p
	}
	for _, sa := range m.serviceAccounts {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			p.add("ServiceAccount %s: automountServiceAccountToken must be false (the service calls no Kubernetes API)", sa.Name)
		}
	}
	if deploy.Spec.Replicas == nil || *deploy.Spec.Replicas < m.minReplicas {
		p.add("Deployment %s: replicas below %d", deploy.Name, m.minReplicas)
	}
	m.checkPod(&p, "Deployment "+deploy.Name, &deploy.Spec.Template.Spec, true)
	m.checkPod(&p, "Job "+job.Name, &job.Spec.Template.Spec, true)
	for _, s := range m.statefulSets {
		m.checkPod(&p, "StatefulSet "+s.Name, &s.Spec.Template.Spec, false)
	}
	for _, d := range m.deployments {
		if d != deploy {
			m.checkPod(&p, "Deployment "+d.Name, &d.Spec.Template.Spec, false)
		}
	}
	cfg, listenPort := m.checkServe(&p, deploy)
	if cfg != nil {
		m.checkServeObjects(&p, deploy, listenPort)
	}
	m.checkJob(&p, job)
	m.checkRedis(&p, deploy)
	return p
}

// findOne finds the one object of a kind that matches.
func findOne[T any](p *problems, what string, objs []*T, match func(*T) bool) *T {
	var found []*T
	for _, o := range objs {
		if match(o) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		p.add("%s: want exactly one, found %d", what, len(found))
		return nil
	}
	return found[0]
}

var digestRef = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

// isServiceImage: the image the overlay set for "utilreview" (by tag or
// digest, in any registry): the last path element of the name, without tag
// or digest.
func isServiceImage(image string) bool {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	return name == k8sApp
}

func TestIsServiceImage(t *testing.T) {
	for image, want := range map[string]bool{
		"utilreview": true, "utilreview:dev": true, "registry.hospital.example/utilreview:1.0.0": true,
		"localhost:5000/utilreview@sha256:" + strings.Repeat("a", 64): true,
		"redis:7.4.11-alpine@sha256:" + strings.Repeat("a", 64):       false, "example.org/utilreview-proxy:1": false,
	} {
		if got := isServiceImage(image); got != want {
			t.Errorf("isServiceImage(%q) = %v, want %v", image, got, want)
		}
	}
}

// checkPod checks a pod's security settings and each container's. ours: the
// utilreview image, which must run as the Dockerfile's numeric user.
func (m *manifests) checkPod(p *problems, what string, pod *corev1.PodSpec, ours bool) {
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		p.add("%s: automountServiceAccountToken must be false", what)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		p.add("%s: host namespaces are not to be shared", what)
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		cw := what + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			p.add("%s: no securityContext", cw)
			sc = &corev1.SecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			p.add("%s: runAsNonRoot must be true", cw)
		}
		uid, gid := sc.RunAsUser, sc.RunAsGroup
		if uid == nil {
			uid = psc.RunAsUser
		}
		if gid == nil {
			gid = psc.RunAsGroup
		}
		switch {
		case uid == nil || gid == nil:
			p.add("%s: runAsUser and runAsGroup must be set, numeric (the kubelet verifies runAsNonRoot only for a numeric user)", cw)
		case *uid == 0 || *gid == 0:
			p.add("%s: runAsUser/runAsGroup 0 is root", cw)
		case ours && (*uid != k8sUID || *gid != k8sUID):
			p.add("%s: runAsUser/runAsGroup %d/%d, want %d/%d as the image's USER", cw, *uid, *gid, k8sUID, k8sUID)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p.add("%s: readOnlyRootFilesystem must be true", cw)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add("%s: allowPrivilegeEscalation must be false", cw)
		}
		if sc.Privileged != nil && *sc.Privileged {
			p.add("%s: privileged", cw)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			p.add("%s: capabilities must drop ALL", cw)
		} else if len(sc.Capabilities.Add) > 0 {
			p.add("%s: capabilities added: %v", cw, sc.Capabilities.Add)
		}
		sp := sc.SeccompProfile
		if sp == nil {
			sp = psc.SeccompProfile
		}
		if sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.add("%s: seccompProfile must be RuntimeDefault", cw)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				p.add("%s: no %s request", cw, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				p.add("%s: no %s limit", cw, r)
			}
		}
		if ours != isServiceImage(c.Image) {
			p.add("%s: image %s is not the one expected here", cw, c.Image)
		}
		if !ours && !digestRef.MatchString(c.Image) {
			p.add("%s: image %s must be pinned by digest (name:tag@sha256:<64 hex>)", cw, c.Image)
		}
	}
}

// configMap finds a ConfigMap by its (generated) name.
func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// containerEnv resolves a container's environment as the kubelet would,
// with placeholders for what only the cluster knows: a field reference, a
// Secret's value. It also returns, per variable, where its value comes from.
func (m *manifests) containerEnv(p *problems, what string, c *corev1.Container) (map[string]string, map[string]*corev1.EnvVarSource) {
	env := map[string]string{}
	from := map[string]*corev1.EnvVarSource{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			p.add("%s: envFrom other than a ConfigMap", what)
			continue
		}
		cm := m.configMap(ef.ConfigMapRef.Name)
		if cm == nil {
			p.add("%s: envFrom ConfigMap %s is not in the overlay", what, ef.ConfigMapRef.Name)
			continue
		}
		maps.Copy(env, cm.Data)
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = ref.ReplaceAllStringFunc(e.Value, func(s string) string {
				if v, ok := env[s[2:len(s)-1]]; ok {
					return v
				}
				return s
			})
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "field-" + strings.ReplaceAll(e.ValueFrom.FieldRef.FieldPath, ".", "-")
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret-value-from-the-cluster"
			if e.Name == "UTILREVIEW_REDIS_URL" {
				env[e.Name] = "rediss://user:secret@redis.example:6380/0"
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			cm := m.configMap(r.Name)
			if cm == nil {
				p.add("%s: %s: ConfigMap %s is not in the overlay", what, e.Name, r.Name)
				continue
			}
			v, ok := cm.Data[r.Key]
			if !ok {
				if r.Optional == nil || !*r.Optional {
					p.add("%s: %s: ConfigMap %s has no key %s", what, e.Name, r.Name, r.Key)
				}
				continue
			}
			env[e.Name] = v
		default:
			p.add("%s: %s: a value source the test does not know", what, e.Name)
		}
		from[e.Name] = e.ValueFrom
	}
	return env, from
}

// checkEnvNames: every UTILREVIEW_* and OTEL_* variable is one the program
// reads; secrets never as literal values; a secret file lies in a mounted
// Secret.
func checkEnvNames(p *problems, what string, env map[string]string, from map[string]*corev1.EnvVarSource, known map[string]bool, pod *corev1.PodSpec, c *corev1.Container) {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if (strings.HasPrefix(k, "UTILREVIEW_") || strings.HasPrefix(k, "OTEL_")) && !known[k] {
			p.add("%s: %s is not a variable the program reads", what, k)
		}
	}
	for _, k := range []string{"UTILREVIEW_WEBHOOK_SECRET", "UTILREVIEW_ADMIN_TOKEN"} {
		if _, ok := env[k]; ok && (from[k] == nil || from[k].SecretKeyRef == nil) {
			p.add("%s: %s has a literal value: secrets come from a Secret (prefer %s_FILE)", what, k, k)
		}
	}
	if u, ok := env["UTILREVIEW_REDIS_URL"]; ok && (from["UTILREVIEW_REDIS_URL"] == nil || from["UTILREVIEW_REDIS_URL"].SecretKeyRef == nil) && strings.Contains(u, "@") {
		p.add("%s: UTILREVIEW_REDIS_URL carries credentials in a literal value: take it from a Secret", what)
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !strings.HasSuffix(k, "_FILE") || !strings.HasPrefix(k, "UTILREVIEW_") {
			continue
		}
		if v := volumeAt(pod, c, env[k]); v == nil || v.Secret == nil {
			p.add("%s: %s=%s is not in a mounted Secret", what, k, env[k])
		}
	}
}

// volumeAt is the volume mounted at the directory holding path (or at path).
func volumeAt(pod *corev1.PodSpec, c *corev1.Container, path string) *corev1.Volume {
	for _, vm := range c.VolumeMounts {
		if path == vm.MountPath || filepath.Dir(path) == vm.MountPath {
			for i := range pod.Volumes {
				if pod.Volumes[i].Name == vm.Name {
					return &pod.Volumes[i]
				}
			}
		}
	}
	return nil
}

// checkServe checks the serve container against serve itself. It returns
// serve's configuration as the manifests set it and the port it listens on.
func (m *manifests) checkServe(p *problems, d *appsv1.Deployment) (*serveConfig, int32) {
	pod := &d.Spec.Template.Spec
	var c *corev1.Container
	for i := range pod.Containers {
		if isServiceImage(pod.Containers[i].Image) {
			if c != nil {
				p.add("Deployment %s: more than one utilreview container", d.Name)
			}
			c = &pod.Containers[i]
		}
	}
	if c == nil {
		p.add("Deployment %s: no utilreview container", d.Name)
		return nil, 0
	}
	what := "Deployment " + d.Name + " container " + c.Name
	if !slices.Equal(c.Args, []string{"serve"}) || len(c.Command) > 0 {
		p.add("%s: want args [serve] and the image's entrypoint, got command %v args %v", what, c.Command, c.Args)
	}
	env, from := m.containerEnv(p, what, c)
	known := otelEnvKeys()
	maps.Copy(known, serveEnvKeys())
	checkEnvNames(p, what, env, from, known, pod, c)

	// serve's own configuration check over the environment the manifests
	// give it; the secret files are stand-ins with a valid secret.
	dir, err := os.MkdirTemp("", "utilreview-k8s-")
	if err != nil {
		p.add("temp dir: %v", err)
		return nil, 0
	}
	defer os.RemoveAll(dir)
	run := maps.Clone(env)
	for k := range run {
		if strings.HasPrefix(k, "UTILREVIEW_") && strings.HasSuffix(k, "_FILE") {
			f := filepath.Join(dir, k)
			content := strings.Repeat("x", 32) + "\n"
			if k == "UTILREVIEW_PAYER_CLIENTS_FILE" { // a registration file, not a secret string
				content = payerClientsStandIn
			}
			if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
				p.add("temp file: %v", err)
			}
			run[k] = f
		}
	}
	var stderr bytes.Buffer
	cfg, err := parseServeFlags(nil, func(k string) string { return run[k] }, io.Discard, &stderr)
	if err != nil {
		p.add("%s: serve refuses the configuration: %v %s", what, err, stderr.String())
		return nil, 0
	}
	if cfg.FHIRAuth == "smart" && volumeAt(pod, c, env["UTILREVIEW_SMART_KEY_FILE"]) == nil {
		p.add("%s: UTILREVIEW_FHIR_AUTH=smart but UTILREVIEW_SMART_KEY_FILE is not mounted", what)
	}
	_, portStr, _ := net.SplitHostPort(cfg.Listen)
	port64, err := strconv.ParseInt(portStr, 10, 32)
	if err != nil {
		p.add("%s: listen %q has no numeric port", what, cfg.Listen)
		return nil, 0
	}
	listen := int32(port64)
	var named string
	for _, cp := range c.Ports {
		if cp.ContainerPort == listen {
			named = cp.Name
		}
	}
	if named == "" {
		p.add("%s: no containerPort %d, the port serve listens on (UTILREVIEW_LISTEN %s)", what, listen, cfg.Listen)
	}
	resolves := func(port intstr.IntOrString) bool {
		if port.Type == intstr.String {
			return named != "" && port.StrVal == named
		}
		return port.IntVal == listen
	}

	// Probes: the paths the handlers answer; startup and liveness also while
	// serve starts, so that a replica waiting for Redis is not restarted.
	startingH, wired, err := serviceHandlers()
	if err != nil {
		p.add("handlers: %v", err)
		return nil, 0
	}
	probes := []struct {
		name         string
		probe        *corev1.Probe
		wantPath     string
		whileStarted bool
	}{
		{"startupProbe", c.StartupProbe, "", true},
		{"livenessProbe", c.LivenessProbe, "/healthz", true},
		{"readinessProbe", c.ReadinessProbe, "/readyz", false},
	}
	for _, pr := range probes {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			p.add("%s: no %s (an HTTP GET)", what, pr.name)
			continue
		}
		g := pr.probe.HTTPGet
		if !resolves(g.Port) {
			p.add("%s: %s port %s is not the port serve listens on (%d)", what, pr.name, g.Port.String(), listen)
		}
		if pr.wantPath != "" && g.Path != pr.wantPath {
			p.add("%s: %s path %s, want %s", what, pr.name, g.Path, pr.wantPath)
		}
		if code := getStatus(wired, g.Path); code != http.StatusOK {
			p.add("%s: %s path %s: the service answers %d", what, pr.name, g.Path, code)
		}
		if code := getStatus(startingH, g.Path); pr.whileStarted && code != http.StatusOK {
			p.add("%s: %s path %s: answers %d while serve starts (waiting for Redis), so the probe would restart it", what, pr.name, g.Path, code)
		}
	}
	if code := getStatus(startingH, "/readyz"); code == http.StatusOK {
		p.add("serve answers /readyz while it starts: readiness would send traffic too early")
	}

	// Shutdown: the grace period covers the preStop pause and serve's bound.
	var pause time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= pause+cfg.ShutdownTimeout {
		p.add("%s: terminationGracePeriodSeconds %s is not above the preStop pause %s + UTILREVIEW_SHUTDOWN_TIMEOUT %s", what, grace, pause, cfg.ShutdownTimeout)
	}

	// Spread across nodes, over this Deployment's own pods.
	spread := false
	for _, tsc := range pod.TopologySpreadConstraints {
		if tsc.TopologyKey == "kubernetes.io/hostname" && tsc.LabelSelector != nil && selects(tsc.LabelSelector.MatchLabels, d.Spec.Template.Labels) {
			spread = true
		}
	}
	if !spread {
		p.add("%s: no topologySpreadConstraint across nodes (kubernetes.io/hostname) selecting its pods", what)
	}

	// Prometheus: annotations naming the port and a path the service serves.
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" {
		p.add("%s: no prometheus.io/scrape annotation on the pods", what)
	} else {
		if ann["prometheus.io/port"] != portStr {
			p.add("%s: prometheus.io/port %q, serve listens on %s", what, ann["prometheus.io/port"], portStr)
		}
		if code := getStatus(wired, ann["prometheus.io/path"]); code != http.StatusOK {
			p.add("%s: prometheus.io/path %q answers %d", what, ann["prometheus.io/path"], code)
		}
	}

	// The rules: UTILREVIEW_RULES_DIR is the mounted rules ConfigMap, valid.
	if cfg.RulesDir == "" {
		p.add("%s: UTILREVIEW_RULES_DIR unset: mount the rules ConfigMap and name it", what)
	} else {
		m.checkRulesMount(p, what, pod, c, cfg.RulesDir)
	}

	m.listenPortName = named
	m.listenPort = listen
	m.destinations = nil
	for _, d := range []struct{ what, url string }{
		{"the FHIR server (UTILREVIEW_FHIR_URL)", cfg.FHIRURL},
		{"Redis (UTILREVIEW_REDIS_URL)", cfg.RedisURL},
		{"the SMART token endpoint (UTILREVIEW_SMART_TOKEN_URL)", map[bool]string{true: cfg.SMARTTokenURL}[cfg.FHIRAuth == "smart"]},
		{"the OTLP collector (OTEL_EXPORTER_OTLP_ENDPOINT)", env["OTEL_EXPORTER_OTLP_ENDPOINT"]},
	} {
		if d.url == "" {
			continue
		}
		port, err := urlPort(d.url)
		if err != nil {
			p.add("%s: %s: %v", what, d.what, err)
			continue
		}
		m.destinations = append(m.destinations, destination{d.what, port})
	}
	return cfg, listen
}

// selects: every label of sel is in labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkRulesMount: dir is a mounted ConfigMap whose files are a valid rule
// directory, each the copy of the embedded default of that name.
func (m *manifests) checkRulesMount(p *problems, what string, pod *corev1.PodSpec, c *corev1.Container, dir string) {
	var v *corev1.Volume
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == dir {
			v = volumeAt(pod, c, dir)
		}
	}
	if v == nil || v.ConfigMap == nil {
		p.add("%s: the rules directory %s is not a mounted ConfigMap", what, dir)
		return
	}
	cm := m.configMap(v.ConfigMap.Name)
	if cm == nil {
		p.add("%s: rules ConfigMap %s is not in the overlay", what, v.ConfigMap.Name)
		return
	}
	tmp, err := os.MkdirTemp("", "utilreview-rules-")
	if err != nil {
		p.add("temp dir: %v", err)
		return
	}
	defer os.RemoveAll(tmp)
	for name, data := range cm.Data {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(data), 0o600); err != nil {
			p.add("temp file: %v", err)
		}
		embedded, err := os.ReadFile(filepath.Join("../../service/rules/defaults", name))
		if err == nil && !bytes.Equal(embedded, []byte(data)) {
			p.add("ConfigMap %s: %s differs from service/rules/defaults/%s: copy it again (cp service/rules/defaults/*.yaml k8s/base/rules/)", cm.Name, name, name)
		}
	}
	if len(cm.Data) == 0 {
		p.add("ConfigMap %s: no rule sets", cm.Name)
	}
	for _, e := range rules.ValidateDir(tmp) {
		p.add("ConfigMap %s: %v", cm.Name, e)
	}
}

// checkServeObjects checks the Service, HPA, PDB and NetworkPolicy that go
// with the serve Deployment.
func (m *manifests) checkServeObjects(p *problems, d *appsv1.Deployment, listen int32) {
	labels := d.Spec.Template.Labels
	svc := findOne(p, "Service of the serve pods", m.services, func(s *corev1.Service) bool { return selects(s.Spec.Selector, labels) })
	if svc != nil {
		ok := false
		for _, sp := range svc.Spec.Ports {
			if (sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal == m.listenPortName) || (sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal == listen) {
				ok = true
			}
		}
		if !ok {
			p.add("Service %s: no port targets the port serve listens on (%d)", svc.Name, listen)
		}
	}
	hpa := findOne(p, "HorizontalPodAutoscaler of the Deployment", m.hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
		return h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name
	})
	if hpa != nil {
		cpu := false
		for _, mt := range hpa.Spec.Metrics {
			if mt.Type == autoscalingv2.ResourceMetricSourceType && mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU {
				cpu = true
			}
		}
		if !cpu {
			p.add("HorizontalPodAutoscaler %s: no CPU metric", hpa.Name)
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < m.minReplicas || hpa.Spec.MaxReplicas < *cmpOr(hpa.Spec.MinReplicas, 1) {
			p.add("HorizontalPodAutoscaler %s: minReplicas below %d or maxReplicas below minReplicas", hpa.Name, m.minReplicas)
		}
	}
	pdb := findOne(p, "PodDisruptionBudget of the serve pods", m.pdbs, func(b *policyv1.PodDisruptionBudget) bool {
		return b.Spec.Selector != nil && selects(b.Spec.Selector.MatchLabels, labels)
	})
	if pdb != nil && pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		p.add("PodDisruptionBudget %s: neither maxUnavailable nor minAvailable", pdb.Name)
	}
	np := findOne(p, "NetworkPolicy of the serve pods", m.netpols, func(n *networkingv1.NetworkPolicy) bool {
		return selects(n.Spec.PodSelector.MatchLabels, labels)
	})
	if np != nil {
		checkNetpol(p, np, func(port *intstr.IntOrString) bool {
			return port != nil && ((port.Type == intstr.String && port.StrVal == m.listenPortName) || (port.Type == intstr.Int && port.IntVal == listen))
		}, 5)
		for _, d := range m.destinations {
			if !egressAllowsPort(np, d.port) {
				p.add("NetworkPolicy %s: no egress rule allows TCP %d, the port of %s", np.Name, d.port, d.what)
			}
		}
	}
}

// egressAllowsPort: some egress rule opens TCP port (to its peers).
func egressAllowsPort(np *networkingv1.NetworkPolicy, port int32) bool {
	for _, r := range np.Spec.Egress {
		for _, pt := range r.Ports {
			tcp := pt.Protocol == nil || *pt.Protocol == corev1.ProtocolTCP
			if tcp && pt.Port != nil && pt.Port.Type == intstr.Int && pt.Port.IntVal == port {
				return true
			}
		}
	}
	return false
}

func cmpOr(p *int32, def int32) *int32 {
	if p == nil {
		return &def
	}
	return p
}

// checkNetpol: ingress only to the service's port and from named peers;
// egress only to named peers on named ports, DNS over UDP and TCP included.
// wantEgress is the number of egress rules expected at least (DNS, then the
// destinations).
func checkNetpol(p *problems, np *networkingv1.NetworkPolicy, ingressPortOK func(*intstr.IntOrString) bool, wantEgress int) {
	what := "NetworkPolicy " + np.Name
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		p.add("%s: policyTypes must be Ingress and Egress", what)
	}
	for i, r := range np.Spec.Ingress {
		if len(r.From) == 0 {
			p.add("%s: ingress %d admits every source", what, i)
		}
		if len(r.Ports) == 0 {
			p.add("%s: ingress %d admits every port", what, i)
		}
		for _, pt := range r.Ports {
			if ingressPortOK == nil || !ingressPortOK(pt.Port) {
				p.add("%s: ingress %d opens a port that is not the service's", what, i)
			}
		}
	}
	if ingressPortOK == nil && len(np.Spec.Ingress) > 0 {
		p.add("%s: admits ingress, and nothing listens", what)
	}
	dnsUDP, dnsTCP := false, false
	for i, r := range np.Spec.Egress {
		if len(r.To) == 0 {
			p.add("%s: egress %d reaches every destination", what, i)
		}
		if len(r.Ports) == 0 {
			p.add("%s: egress %d reaches every port", what, i)
		}
		for _, to := range r.To {
			if to.IPBlock != nil && strings.HasSuffix(to.IPBlock.CIDR, "/0") {
				p.add("%s: egress %d reaches %s", what, i, to.IPBlock.CIDR)
			}
		}
		for _, pt := range r.Ports {
			if pt.Port != nil && pt.Port.Type == intstr.Int && pt.Port.IntVal == 53 && pt.Protocol != nil {
				dnsUDP = dnsUDP || *pt.Protocol == corev1.ProtocolUDP
				dnsTCP = dnsTCP || *pt.Protocol == corev1.ProtocolTCP
			}
		}
	}
	if !dnsUDP || !dnsTCP {
		p.add("%s: DNS must be allowed over UDP and TCP 53", what)
	}
	if len(np.Spec.Egress) < wantEgress {
		p.add("%s: %d egress rules, want %d", what, len(np.Spec.Egress), wantEgress)
	}
}

// checkJob checks the rules publish Job against `rules publish` itself.
func (m *manifests) checkJob(p *problems, j *batchv1.Job) {
	pod := &j.Spec.Template.Spec
	what := "Job " + j.Name
	if len(pod.Containers) != 1 {
		p.add("%s: want one container", what)
		return
	}
	c := &pod.Containers[0]
	if len(c.Args) != 3 || c.Args[0] != "rules" || c.Args[1] != "publish" || len(c.Command) > 0 {
		p.add("%s: want args [rules publish DIR] and the image's entrypoint, got command %v args %v", what, c.Command, c.Args)
		return
	}
	fs, _ := newRulesStoreFlags("rules publish", func(string) string { return "" }, io.Discard)
	if pos, err := parseArgs(fs, c.Args[2:]); err != nil || len(pos) != 1 {
		p.add("%s: `rules publish` does not take %v", what, c.Args[2:])
	}
	env, from := m.containerEnv(p, what, c)
	checkEnvNames(p, what, env, from, rulesPublishEnvKeys(), pod, c)
	if env["UTILREVIEW_REDIS_URL"] == "" {
		p.add("%s: no UTILREVIEW_REDIS_URL", what)
	}
	m.checkRulesMount(p, what, pod, c, c.Args[2])
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		p.add("%s: restartPolicy %q", what, pod.RestartPolicy)
	}
	np := findOne(p, "NetworkPolicy of the rules publish Job", m.netpols, func(n *networkingv1.NetworkPolicy) bool {
		return selects(n.Spec.PodSelector.MatchLabels, j.Spec.Template.Labels)
	})
	if np != nil {
		checkNetpol(p, np, nil, 2)
		if port, err := urlPort(env["UTILREVIEW_REDIS_URL"]); err == nil && !egressAllowsPort(np, port) {
			p.add("NetworkPolicy %s: no egress rule allows TCP %d, the port of Redis (UTILREVIEW_REDIS_URL)", np.Name, port)
		}
	}
}

// checkRedis: dev runs its own Redis with the queue's settings, reached by
// serve's URL; prod names an external one through a Secret.
func (m *manifests) checkRedis(p *problems, d *appsv1.Deployment) {
	var url *corev1.EnvVar
	for i, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "UTILREVIEW_REDIS_URL" {
			url = &d.Spec.Template.Spec.Containers[0].Env[i]
		}
	}
	if url == nil {
		p.add("Deployment %s: no UTILREVIEW_REDIS_URL", d.Name)
		return
	}
	if !m.devRedis {
		if url.ValueFrom == nil || url.ValueFrom.SecretKeyRef == nil {
			p.add("Deployment %s: the external Redis's URL (with its credentials) must come from a Secret", d.Name)
		}
		if len(m.statefulSets) > 0 {
			p.add("%s: runs a StatefulSet; Redis is external here", m.overlay)
		}
		return
	}
	redis := findOne(p, "Redis StatefulSet", m.statefulSets, func(s *appsv1.StatefulSet) bool { return true })
	if redis == nil {
		return
	}
	host := strings.TrimPrefix(url.Value, "redis://")
	host, _, _ = strings.Cut(host, "/")
	host, _, _ = net.SplitHostPort(host)
	if findOne(p, "Service "+host+" of the Redis pods", m.services, func(s *corev1.Service) bool {
		return s.Name == host && selects(s.Spec.Selector, redis.Spec.Template.Labels)
	}) == nil {
		return
	}
	conf := ""
	for _, v := range redis.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			if cm := m.configMap(v.ConfigMap.Name); cm != nil {
				for _, s := range cm.Data {
					conf += s + "\n"
				}
			}
		}
	}
	args := strings.Join(slices.Concat(redis.Spec.Template.Spec.Containers[0].Command, redis.Spec.Template.Spec.Containers[0].Args), " ")
	for _, want := range []string{"appendonly yes", "maxmemory-policy noeviction"} {
		if !regexp.MustCompile(`(?m)^\s*`+regexp.QuoteMeta(want)+`\s*$`).MatchString(conf) && !strings.Contains(args, "--"+want) {
			p.add("StatefulSet %s: Redis without %q (the queue needs persistence and no eviction)", redis.Name, want)
		}
	}
	if len(redis.Spec.VolumeClaimTemplates) == 0 {
		p.add("StatefulSet %s: no volume for the append-only file", redis.Name)
	}
}

func TestK8sOverlays(t *testing.T) {
	for i, o := range k8sOverlays {
		t.Run(strings.ReplaceAll(o.dir, "/", "_"), func(t *testing.T) {
			m := loadOverlay(t, i)
			for _, pr := range m.check() {
				t.Error(pr)
			}
		})
	}
}

// TestK8sChecksFail removes or breaks one setting at a time in a copy of an
// overlay's output: each must be caught, so TestK8sOverlays can fail.
func TestK8sChecksFail(t *testing.T) {
	dev, prod := loadOverlay(t, 0), loadOverlay(t, 1)
	serve := func(m *manifests) *appsv1.Deployment {
		for _, d := range m.deployments {
			if d.Spec.Template.Labels["app.kubernetes.io/component"] == k8sServeComp {
				return d
			}
		}
		t.Fatal("no serve Deployment")
		return nil
	}
	ctr := func(m *manifests) *corev1.Container { return &serve(m).Spec.Template.Spec.Containers[0] }
	job := func(m *manifests) *corev1.Container { return &m.jobs[0].Spec.Template.Spec.Containers[0] }
	netpol := func(m *manifests, name string) *networkingv1.NetworkPolicy {
		for _, n := range m.netpols {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("no NetworkPolicy %s", name)
		return nil
	}
	ptr := func(b bool) *bool { return &b }
	cases := []struct {
		name   string
		base   *manifests
		break_ func(m *manifests)
		want   string
	}{
		{"runAsNonRoot removed", prod, func(m *manifests) {
			serve(m).Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
			ctr(m).SecurityContext.RunAsNonRoot = nil
		}, "runAsNonRoot must be true"},
		{"runAsUser removed", prod, func(m *manifests) {
			serve(m).Spec.Template.Spec.SecurityContext.RunAsUser = nil
			ctr(m).SecurityContext.RunAsUser = nil
		}, "runAsUser and runAsGroup must be set"},
		{"runAsGroup removed", prod, func(m *manifests) {
			serve(m).Spec.Template.Spec.SecurityContext.RunAsGroup = nil
			ctr(m).SecurityContext.RunAsGroup = nil
		}, "runAsUser and runAsGroup must be set"},
		{"another user", prod, func(m *manifests) { u := int64(1000); ctr(m).SecurityContext.RunAsUser = &u }, "want 65532/65532"},
		{"root", dev, func(m *manifests) {
			u := int64(0)
			m.statefulSets[0].Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = &u
		}, "0 is root"},
		{"writable root filesystem", prod, func(m *manifests) { ctr(m).SecurityContext.ReadOnlyRootFilesystem = ptr(false) }, "readOnlyRootFilesystem"},
		{"privilege escalation unset", prod, func(m *manifests) { ctr(m).SecurityContext.AllowPrivilegeEscalation = nil }, "allowPrivilegeEscalation"},
		{"privilege escalation in the Job", prod, func(m *manifests) { job(m).SecurityContext.AllowPrivilegeEscalation = ptr(true) }, "allowPrivilegeEscalation"},
		{"capabilities kept", prod, func(m *manifests) { ctr(m).SecurityContext.Capabilities = nil }, "drop ALL"},
		{"capability added", prod, func(m *manifests) { ctr(m).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"} }, "capabilities added"},
		{"seccomp removed", prod, func(m *manifests) {
			serve(m).Spec.Template.Spec.SecurityContext.SeccompProfile = nil
			ctr(m).SecurityContext.SeccompProfile = nil
		}, "seccompProfile"},
		{"Redis seccomp unconfined", dev, func(m *manifests) {
			s := &m.statefulSets[0].Spec.Template.Spec
			s.SecurityContext.SeccompProfile = nil
			s.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, "seccompProfile"},
		{"service account token", prod, func(m *manifests) { serve(m).Spec.Template.Spec.AutomountServiceAccountToken = nil }, "automountServiceAccountToken"},
		{"no limits", prod, func(m *manifests) { ctr(m).Resources.Limits = nil }, "no cpu limit"},
		{"no requests in the Job", prod, func(m *manifests) { job(m).Resources.Requests = nil }, "no memory request"},
		{"no startup probe", prod, func(m *manifests) { ctr(m).StartupProbe = nil }, "no startupProbe"},
		{"no liveness probe", prod, func(m *manifests) { ctr(m).LivenessProbe = nil }, "no livenessProbe"},
		{"readiness on a path the service lacks", prod, func(m *manifests) { ctr(m).ReadinessProbe.HTTPGet.Path = "/ready" }, "path /ready"},
		{"liveness on /readyz", prod, func(m *manifests) { ctr(m).LivenessProbe.HTTPGet.Path = "/readyz" }, "while serve starts"},
		{"probe on another port", prod, func(m *manifests) { ctr(m).ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9090) }, "not the port serve listens on"},
		{"listen elsewhere", prod, func(m *manifests) {
			ctr(m).Env = append(ctr(m).Env, corev1.EnvVar{Name: "UTILREVIEW_LISTEN", Value: ":9000"})
		}, "no containerPort 9000"},
		{"grace period within the shutdown bound", prod, func(m *manifests) { g := int64(25); serve(m).Spec.Template.Spec.TerminationGracePeriodSeconds = &g }, "terminationGracePeriodSeconds"},
		{"shutdown bound raised", prod, func(m *manifests) {
			ctr(m).Env = append(ctr(m).Env, corev1.EnvVar{Name: "UTILREVIEW_SHUTDOWN_TIMEOUT", Value: "60s"})
		}, "terminationGracePeriodSeconds"},
		{"no topology spread", prod, func(m *manifests) { serve(m).Spec.Template.Spec.TopologySpreadConstraints = nil }, "topologySpreadConstraint"},
		{"one replica in prod", prod, func(m *manifests) { r := int32(1); serve(m).Spec.Replicas = &r }, "replicas below 2"},
		{"an unknown variable", prod, func(m *manifests) {
			ctr(m).Env = append(ctr(m).Env, corev1.EnvVar{Name: "UTILREVIEW_WEBHOOK_TOKEN", Value: "x"})
		}, "UTILREVIEW_WEBHOOK_TOKEN is not a variable"},
		{"an unknown OTEL variable", prod, func(m *manifests) {
			ctr(m).Env = append(ctr(m).Env, corev1.EnvVar{Name: "OTEL_PROPAGATORS", Value: "b3"})
		}, "OTEL_PROPAGATORS is not a variable"},
		{"a serve variable in the Job", prod, func(m *manifests) {
			job(m).Env = append(job(m).Env, corev1.EnvVar{Name: "UTILREVIEW_FHIR_URL", Value: "https://x"})
		}, "UTILREVIEW_FHIR_URL is not a variable"},
		{"a secret as a literal", prod, func(m *manifests) {
			c := ctr(m)
			c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "UTILREVIEW_WEBHOOK_SECRET_FILE" })
			c.Env = append(c.Env, corev1.EnvVar{Name: "UTILREVIEW_WEBHOOK_SECRET", Value: strings.Repeat("y", 32)})
		}, "literal value"},
		{"a secret file outside a Secret", prod, func(m *manifests) {
			for i, e := range ctr(m).Env {
				if e.Name == "UTILREVIEW_ADMIN_TOKEN_FILE" {
					ctr(m).Env[i].Value = "/tmp/token"
				}
			}
		}, "not in a mounted Secret"},
		{"a configuration serve refuses", prod, func(m *manifests) {
			ctr(m).Env = append(ctr(m).Env, corev1.EnvVar{Name: "UTILREVIEW_FHIR_AUTH", Value: "basic"})
		}, "serve refuses the configuration"},
		{"a Secret in git", prod, func(m *manifests) {
			m.secrets = append(m.secrets, &corev1.Secret{StringData: map[string]string{"secret": "x"}})
		}, "never in git"},
		{"no scrape annotation", prod, func(m *manifests) { delete(serve(m).Spec.Template.Annotations, "prometheus.io/scrape") }, "prometheus.io/scrape"},
		{"scrape on another port", prod, func(m *manifests) { serve(m).Spec.Template.Annotations["prometheus.io/port"] = "9090" }, "prometheus.io/port"},
		{"rules not mounted", prod, func(m *manifests) { ctr(m).VolumeMounts = ctr(m).VolumeMounts[1:] }, "not a mounted ConfigMap"},
		{"an invalid rule set", prod, func(m *manifests) {
			for _, cm := range m.configMaps {
				if _, ok := cm.Data["medicare-ffs.yaml"]; ok {
					cm.Data["medicare-ffs.yaml"] = strings.Replace(cm.Data["medicare-ffs.yaml"], "program: medicare-ffs", "program: medicare-pps", 1)
				}
			}
		}, `unknown program "medicare-pps"`},
		{"a rule set that is not the embedded default any more", prod, func(m *manifests) {
			for _, cm := range m.configMaps {
				if _, ok := cm.Data["medicare-ffs.yaml"]; ok {
					cm.Data["medicare-ffs.yaml"] += "# edited here only\n"
				}
			}
		}, "differs from service/rules/defaults/medicare-ffs.yaml"},
		{"Job publishes another command", prod, func(m *manifests) { job(m).Args = []string{"rules", "validate", "/rules"} }, "rules publish DIR"},
		{"no HPA CPU metric", prod, func(m *manifests) { m.hpas[0].Spec.Metrics = nil }, "no CPU metric"},
		{"HPA below the minimum", prod, func(m *manifests) { r := int32(1); m.hpas[0].Spec.MinReplicas = &r }, "minReplicas below 2"},
		{"no PDB", prod, func(m *manifests) { m.pdbs = nil }, "PodDisruptionBudget of the serve pods"},
		{"no Service", prod, func(m *manifests) { m.services = nil }, "Service of the serve pods"},
		{"egress only", prod, func(m *manifests) {
			netpol(m, "utilreview").Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		}, "policyTypes"},
		{"DNS over UDP only", prod, func(m *manifests) {
			n := netpol(m, "utilreview")
			n.Spec.Egress[0].Ports = n.Spec.Egress[0].Ports[:1]
		}, "UDP and TCP 53"},
		{"egress anywhere", prod, func(m *manifests) {
			netpol(m, "utilreview").Spec.Egress[1].To = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}
		}, "reaches 0.0.0.0/0"},
		{"ingress on another port", prod, func(m *manifests) {
			p := intstr.FromInt32(6060)
			netpol(m, "utilreview").Spec.Ingress[0].Ports[0].Port = &p
		}, "not the service's"},
		{"ingress from everyone", prod, func(m *manifests) { netpol(m, "utilreview").Spec.Ingress[1].From = nil }, "admits every source"},
		{"ingress to the Job", prod, func(m *manifests) {
			netpol(m, "utilreview-rules-publish").Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
		}, "nothing listens"},
		{"FHIR server on a port the policy closes", dev, func(m *manifests) {
			for _, cm := range m.configMaps {
				if u, ok := cm.Data["UTILREVIEW_FHIR_URL"]; ok {
					cm.Data["UTILREVIEW_FHIR_URL"] = strings.Replace(u, ":8080/", ":8443/", 1)
				}
			}
		}, "no egress rule allows TCP 8443"},
		{"Redis closed to the Job", dev, func(m *manifests) {
			n := netpol(m, "utilreview-rules-publish")
			n.Spec.Egress = n.Spec.Egress[:1]
		}, "no egress rule allows TCP 6379"},
		{"OTLP collector closed", prod, func(m *manifests) {
			n := netpol(m, "utilreview")
			n.Spec.Egress = n.Spec.Egress[:4]
		}, "the OTLP collector"},
		{"Redis evicts", dev, func(m *manifests) {
			for _, cm := range m.configMaps {
				if s, ok := cm.Data["redis.conf"]; ok {
					cm.Data["redis.conf"] = strings.Replace(s, "maxmemory-policy noeviction", "maxmemory-policy allkeys-lru", 1)
				}
			}
		}, "noeviction"},
		{"Redis without persistence", dev, func(m *manifests) {
			for _, cm := range m.configMaps {
				if s, ok := cm.Data["redis.conf"]; ok {
					cm.Data["redis.conf"] = strings.Replace(s, "appendonly yes", "appendonly no", 1)
				}
			}
		}, "appendonly yes"},
		{"Redis by tag", dev, func(m *manifests) {
			m.statefulSets[0].Spec.Template.Spec.Containers[0].Image = "redis:7.4.11-alpine"
		}, "pinned by digest"},
		{"prod Redis URL literal", prod, func(m *manifests) {
			for i, e := range ctr(m).Env {
				if e.Name == "UTILREVIEW_REDIS_URL" {
					ctr(m).Env[i] = corev1.EnvVar{Name: e.Name, Value: "rediss://u:p@redis:6380/0"}
				}
			}
		}, "credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.base.clone()
			tc.break_(m)
			got := m.check()
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("not caught: want a problem containing %q, got %q", tc.want, got)
			}
		})
	}
	// The copies were deep: the overlays themselves still pass.
	for _, m := range []*manifests{dev, prod} {
		if got := m.check(); len(got) > 0 {
			t.Errorf("%s after the cases: %q", m.overlay, got)
		}
	}
}

// TestK8sOptional decodes the optional extras: the ServiceMonitor (a CRD:
// unstructured, checked against the Service's port name and serve's metrics
// path) and the queue-depth HPA patch (strictly, as an HPA).
func TestK8sOptional(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(k8sRoot, "optional/servicemonitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := sigsyaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "monitoring.coreos.com/v1" || u.GetKind() != "ServiceMonitor" {
		t.Errorf("servicemonitor.yaml: %s %s", u.GetAPIVersion(), u.GetKind())
	}
	sel, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor: %d endpoints, want 1", len(eps))
	}
	ep, _ := eps[0].(map[string]any)
	m := loadOverlay(t, 1)
	var svc *corev1.Service
	for _, s := range m.services {
		if selects(sel, s.Labels) {
			svc = s
		}
	}
	if svc == nil {
		t.Fatalf("ServiceMonitor selects no Service (%v)", sel)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep["port"] }) {
		t.Errorf("ServiceMonitor port %v is not a port of Service %s", ep["port"], svc.Name)
	}
	_, wired, err := serviceHandlers()
	if err != nil {
		t.Fatal(err)
	}
	if path, _ := ep["path"].(string); getStatus(wired, path) != http.StatusOK {
		t.Errorf("ServiceMonitor path %q: not served", path)
	}

	b, err = os.ReadFile(filepath.Join(k8sRoot, "optional/hpa-queue-depth-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := unmarshalStrict("hpa-queue-depth-patch.yaml", b, &hpa); err != nil {
		t.Fatal(err)
	}
	// The metric it names is one the queue exports: its collectors describe
	// themselves to a registry (this needs the queue, hence a real Redis).
	names := map[string]bool{}
	for _, mt := range hpa.Spec.Metrics {
		if mt.External != nil {
			names[mt.External.Metric.Name] = true
		}
	}
	if !names["utilreview_queue_depth"] {
		t.Errorf("hpa-queue-depth-patch.yaml: no External metric utilreview_queue_depth: %v", names)
	}
	addr := os.Getenv("UTILREVIEW_TEST_REDIS_ADDR")
	if addr == "" {
		t.Log("UTILREVIEW_TEST_REDIS_ADDR unset: the queue's metric names are not read from the queue")
		return
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	prefix := fmt.Sprintf("{k8stest-%d}:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	reg := prometheus.NewRegistry()
	if _, err := queue.New(rdb, queue.Config{Prefix: prefix, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	exported := map[string]bool{}
	for d := range ch {
		if m := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String()); m != nil {
			exported[m[1]] = true
		}
	}
	for name := range names {
		if !exported[name] {
			t.Errorf("hpa-queue-depth-patch.yaml: %s is not a metric the queue exports (%v)", name, slices.Sorted(maps.Keys(exported)))
		}
	}
}

// TestK8sStrictDecoding: a misspelt or unknown field, and a kind the test
// does not know, are errors, not silently dropped.
func TestK8sStrictDecoding(t *testing.T) {
	var deploy []byte
	for _, y := range buildOverlay(t, k8sOverlays[1].dir) {
		if bytes.HasPrefix(y, []byte("apiVersion: apps/v1\nkind: Deployment\n")) {
			deploy = y
		}
	}
	if deploy == nil {
		t.Fatal("prod overlay: no Deployment")
	}
	if err := (&manifests{}).decodeStrict(deploy); err != nil {
		t.Fatalf("the Deployment as built: %v", err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"misspelt field", "readOnlyRootFilesystem:", "readOnlyRootFileSystem:"},
		{"unknown field", "  replicas: 2\n", "  replicas: 2\n  replica: 3\n"},
		{"wrong type", "  replicas: 2\n", "  replicas: two\n"},
		{"unknown kind", "kind: Deployment\n", "kind: Rollout\n"},
		{"wrong apiVersion", "apiVersion: apps/v1\n", "apiVersion: extensions/v1beta1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := bytes.Replace(deploy, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(y, deploy) {
				t.Fatalf("%q is not in the Deployment", tc.from)
			}
			if err := (&manifests{}).decodeStrict(y); err == nil {
				t.Error("decoded without an error")
			}
		})
	}
}

// payerClientsStandIn is a valid payer registration file (one external
// issuer) standing in for the Secret's clients.yaml.
const payerClientsStandIn = `issuers:
  - issuer: https://idp.payer.example
    jwks_url: https://idp.payer.example/jwks.json
    audience: https://utilreview.hospital.example/payer/fhir
    payer: {system: "http://hl7.org/fhir/sid/us-npi", value: "1234567893"}
`

// TestK8sPayerAPIComponent: both overlays include the payer API component,
// whose clients file comes from the Secret utilreview-payer-clients; the
// base alone runs without the payer API (no such variable, no such Secret).
func TestK8sPayerAPIComponent(t *testing.T) {
	payerSecret := func(m *manifests) (env bool, secret bool) {
		for _, d := range m.deployments {
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					env = env || e.Name == "UTILREVIEW_PAYER_CLIENTS_FILE"
				}
			}
			for _, v := range d.Spec.Template.Spec.Volumes {
				secret = secret || v.Secret != nil && v.Secret.SecretName == "utilreview-payer-clients"
			}
		}
		return env, secret
	}
	for i, o := range k8sOverlays {
		if env, secret := payerSecret(loadOverlay(t, i)); !env || !secret {
			t.Errorf("%s: payer clients file %v, its Secret %v; want both (the payer-api component)", o.dir, env, secret)
		}
	}
	base := &manifests{overlay: "base"}
	for _, y := range buildOverlay(t, "base") {
		if err := base.decodeStrict(y); err != nil {
			t.Fatalf("base: %v", err)
		}
	}
	if env, secret := payerSecret(base); env || secret {
		t.Errorf("base: payer clients file %v, its Secret %v; want neither (the payer API is the component's)", env, secret)
	}
}
