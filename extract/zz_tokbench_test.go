package extract

import (
	"os"
	"path/filepath"
	"testing"
)

func corpusForBench(b *testing.B) []string {
	paths, _ := filepath.Glob("../testdata/corpus/dev/*.txt")
	var texts []string
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		texts = append(texts, string(data))
	}
	return texts
}

func BenchmarkTokenize(b *testing.B) {
	texts := corpusForBench(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range texts {
			tokenize(t)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	texts := corpusForBench(b)
	var toks [][]token
	for _, t := range texts {
		toks = append(toks, tokenize(t))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range toks {
			peopleFrom(t, classify(t))
		}
	}
}

func BenchmarkStems(b *testing.B) {
	texts := corpusForBench(b)
	var toks [][]token
	for _, t := range texts {
		toks = append(toks, tokenize(t))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range toks {
			stemsOf(t)
		}
	}
}

func BenchmarkActions(b *testing.B) {
	texts := corpusForBench(b)
	var toks [][]token
	for _, t := range texts {
		toks = append(toks, tokenize(t))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range toks {
			actionItemsFrom(t)
		}
	}
}
