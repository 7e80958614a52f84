package jsonedit

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Object is a JSON object that remembers the order of its keys.
//
// Values are nil, bool, json.Number, string, []any and *Object. Set and
// SetPath also accept common Go values (integers, finite floats, []string,
// map[string]any, map[string]string) and convert them to those types; any
// other value is encoded with encoding/json when marshalled.
type Object struct {
	keys []string
	vals map[string]any
}

// New returns an empty object.
func New() *Object { return &Object{vals: map[string]any{}} }

// Len reports the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Keys returns the keys in document order.
func (o *Object) Keys() []string { return slices.Clone(o.keys) }

// Get returns the value stored under key.
func (o *Object) Get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Set stores value under key, keeping the key's position if it is already
// present and appending it otherwise.
func (o *Object) Set(key string, value any) {
	o.set(key, normalize(value))
}

// set is Set for a value already of the model's types.
func (o *Object) set(key string, value any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = value
}

// Delete removes key and reports whether it was present.
func (o *Object) Delete(key string) bool {
	if _, ok := o.vals[key]; !ok {
		return false
	}
	delete(o.vals, key)
	o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
	return true
}

// GetPath follows path through nested objects and returns the value at its
// end. An empty path returns o itself.
func (o *Object) GetPath(path ...string) (any, bool) {
	var cur any = o
	for _, k := range path {
		obj, ok := cur.(*Object)
		if !ok || obj == nil {
			return nil, false
		}
		if cur, ok = obj.Get(k); !ok {
			return nil, false
		}
	}
	return cur, true
}

// SetPath stores value at path, creating missing intermediate objects. It
// fails, changing nothing, if an intermediate value exists and is not an
// object.
func (o *Object) SetPath(value any, path ...string) error {
	if len(path) == 0 {
		return fmt.Errorf("jsonedit: SetPath needs a non-empty path")
	}
	cur := o
	// Check the whole path first so a failure changes nothing.
	for i, k := range path[:len(path)-1] {
		v, ok := cur.Get(k)
		if !ok {
			break
		}
		next, ok := v.(*Object)
		if !ok || next == nil {
			return fmt.Errorf("jsonedit: cannot set %s: %s is %s, not an object",
				strings.Join(path, "."), strings.Join(path[:i+1], "."), kindOf(v))
		}
		cur = next
	}
	cur = o
	for _, k := range path[:len(path)-1] {
		v, ok := cur.Get(k)
		if !ok {
			next := New()
			cur.Set(k, next)
			cur = next
			continue
		}
		cur = v.(*Object)
	}
	cur.Set(path[len(path)-1], value)
	return nil
}

// DeletePath removes the value at path and reports whether it was present.
// Intermediate objects are kept even when they become empty.
func (o *Object) DeletePath(path ...string) bool {
	if len(path) == 0 {
		return false
	}
	parent, ok := o.GetPath(path[:len(path)-1]...)
	if !ok {
		return false
	}
	obj, ok := parent.(*Object)
	if !ok || obj == nil {
		return false
	}
	return obj.Delete(path[len(path)-1])
}

// DeletePathPrune is DeletePath that also removes the intermediate objects
// that the deletion left empty, innermost first.
func (o *Object) DeletePathPrune(path ...string) bool {
	if !o.DeletePath(path...) {
		return false
	}
	for i := len(path) - 1; i > 0; i-- {
		v, _ := o.GetPath(path[:i]...)
		if obj, ok := v.(*Object); !ok || obj.Len() != 0 {
			break
		}
		parent, _ := o.GetPath(path[:i-1]...)
		parent.(*Object).Delete(path[i-1])
	}
	return true
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case *Object:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// normalize converts convenient Go values into the model's value types.
func normalize(v any) any {
	switch t := v.(type) {
	case nil, bool, json.Number, string, *Object:
		return v
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	case map[string]any:
		o := New()
		for _, k := range sortedKeys(t) {
			o.Set(k, t[k])
		}
		return o
	case map[string]string:
		o := New()
		for _, k := range sortedKeys(t) {
			o.Set(k, t[k])
		}
		return o
	case int:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int8:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int16:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int32:
		return json.Number(strconv.FormatInt(int64(t), 10))
	case int64:
		return json.Number(strconv.FormatInt(t, 10))
	case uint:
		return json.Number(strconv.FormatUint(uint64(t), 10))
	case uint8:
		return json.Number(strconv.FormatUint(uint64(t), 10))
	case uint16:
		return json.Number(strconv.FormatUint(uint64(t), 10))
	case uint32:
		return json.Number(strconv.FormatUint(uint64(t), 10))
	case uint64:
		return json.Number(strconv.FormatUint(t, 10))
	case float32:
		if math.IsInf(float64(t), 0) || math.IsNaN(float64(t)) {
			return v
		}
		return json.Number(strconv.FormatFloat(float64(t), 'g', -1, 32))
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return v
		}
		return json.Number(strconv.FormatFloat(t, 'g', -1, 64))
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
