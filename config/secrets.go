package config

import "reflect"

// SecretsOf returns the values of every Secret inside v (a connector's typed
// settings): struct fields, pointers, slices and maps, walked recursively.
// The hub hands them to the redactor so that no log line or error of that
// connector can carry them.
func SecretsOf(v any) []string {
	var out []string
	secretType := reflect.TypeFor[Secret]()
	var walk func(reflect.Value)
	walk = func(x reflect.Value) {
		if !x.IsValid() {
			return
		}
		if x.Type() == secretType {
			if s := x.String(); s != "" {
				out = append(out, s)
			}
			return
		}
		switch x.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !x.IsNil() {
				walk(x.Elem())
			}
		case reflect.Struct:
			for i := range x.NumField() {
				walk(x.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range x.Len() {
				walk(x.Index(i))
			}
		case reflect.Map:
			it := x.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(v))
	return out
}
