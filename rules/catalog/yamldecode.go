package catalog

import "github.com/nhiscan/nhiscan/internal/strictyaml"

// The catalog is decoded by internal/strictyaml: every unknown key, wrong
// type and duplicate key is reported at once with its position. These
// aliases keep the file-format structs short.

type (
	str    = strictyaml.Str
	meta   = strictyaml.Meta
	strMap = strictyaml.StrMap
)

// catalogDecoder decodes one catalog file.
var catalogDecoder = strictyaml.Decoder{Root: "catalog file"}

// parseYAML parses one catalog file into doc, reporting every problem.
func parseYAML(file string, data []byte, doc any, errs *errorList) {
	errs.es = append(errs.es, catalogDecoder.Decode(file, data, doc)...)
}
