package idea

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/whispersync/whispersync"
)

// Files returns the project files by slash-separated path: README.md,
// ISSUES.md, a .gitignore fitting the stack, and issues/NNN-slug.md for
// each issue.
func (s Scaffold) Files() map[string][]byte {
	files := map[string][]byte{
		"README.md":  []byte(s.Readme),
		".gitignore": []byte(gitignore(s.Stack)),
	}
	var all strings.Builder
	fmt.Fprintf(&all, "# Issues for %s\n", s.Name)
	for i, issue := range s.Issues {
		doc := issueMarkdown(issue)
		name := fmt.Sprintf("issues/%03d-%s.md", i+1, Slugify(issue.Title))
		files[name] = []byte(doc)
		all.WriteString("\n")
		all.WriteString(strings.Replace(doc, "# ", fmt.Sprintf("## %d. ", i+1), 1))
	}
	files["ISSUES.md"] = []byte(all.String())
	return files
}

func issueMarkdown(issue Issue) string {
	return fmt.Sprintf("# %s\n\nLabels: %s\n\n%s\n", issue.Title, strings.Join(issue.Labels, ", "), issue.Body)
}

// gitignores holds the ignore patterns of each stack label.
var gitignores = map[string]string{
	"Python":              "__pycache__/\n*.py[cod]\n.venv/\n.pytest_cache/\n",
	"Go":                  "/bin/\n*.test\n*.out\n",
	"Rust":                "/target/\n",
	"JavaScript":          "node_modules/\ndist/\n",
	"TypeScript":          "node_modules/\ndist/\n*.tsbuildinfo\n",
	"React":               "node_modules/\ndist/\nbuild/\n",
	"React Native":        "node_modules/\n.expo/\nios/Pods/\nandroid/.gradle/\n",
	"Svelte":              "node_modules/\n.svelte-kit/\nbuild/\n",
	"Vue":                 "node_modules/\ndist/\n",
	"Web app":             "node_modules/\ndist/\n",
	"Progressive web app": "node_modules/\ndist/\n",
	"Browser extension":   "node_modules/\ndist/\n*.zip\n",
	"Flutter":             ".dart_tool/\nbuild/\n.flutter-plugins*\n",
	"iOS":                 "DerivedData/\n*.xcuserstate\nxcuserdata/\n",
	"Android":             ".gradle/\nbuild/\nlocal.properties\n",
	"Kotlin":              ".gradle/\nbuild/\n",
	"Arduino":             ".pio/\nbuild/\n",
	"SQLite":              "*.db\n*.sqlite\n",
}

// gitignore returns the .gitignore for a stack: common editor and secret
// files first, then each stack's patterns once.
func gitignore(stack []string) string {
	var b strings.Builder
	b.WriteString(".DS_Store\n.env\n.idea/\n.vscode/\n")
	seen := map[string]bool{}
	for _, label := range stack {
		for _, line := range strings.SplitAfter(gitignores[label], "\n") {
			if line != "" && !seen[line] {
				seen[line] = true
				b.WriteString(line)
			}
		}
	}
	return b.String()
}

// Files and folders are private to the owner because a scaffold repeats
// the content of the memo.
const (
	fileMode   = 0o600
	folderMode = 0o700
)

// WriteProject writes the scaffold's files into the folder dir, creating
// it. The files appear together: they are written and synced in a hidden
// sibling folder, which is then renamed to dir. Writing the same scaffold
// again succeeds without change. A dir that exists and holds anything else
// is left alone and reported as a conflict.
func WriteProject(dir string, s Scaffold) error {
	files := s.Files()
	for name := range files {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("idea: write project: file path %q leaves the project folder", name)
		}
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("idea: write project: %w", err)
	case len(entries) > 0:
		same, err := holdsFiles(dir, files)
		if err != nil {
			return fmt.Errorf("idea: write project: %w", err)
		}
		if same {
			return nil
		}
		return whispersync.Errorf(whispersync.ECONFLICT, "project folder %s is not empty and contains other files; choose another folder or remove it first", dir)
	}
	if err := writeAtomically(dir, files); err != nil {
		return fmt.Errorf("idea: write project: %w", err)
	}
	return nil
}

// holdsFiles reports whether dir holds exactly files, byte for byte.
func holdsFiles(dir string, files map[string][]byte) (bool, error) {
	// Reading through a root keeps a symbolic link swapped in during the walk
	// from pointing the comparison outside dir.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false, err
	}
	defer root.Close()

	found := 0
	same := true
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		want, ok := files[name]
		if !ok {
			same = false
			return fs.SkipAll
		}
		got, err := root.ReadFile(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			same = false
			return fs.SkipAll
		}
		found++
		return nil
	})
	if err != nil {
		return false, err
	}
	return same && found == len(files), nil
}

// writeAtomically writes files into a temporary sibling of dir, syncs every
// file and folder, and renames it to dir.
func writeAtomically(dir string, files map[string][]byte) (err error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, folderMode); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)

	folders := map[string]bool{tmp: true}
	for _, name := range names {
		path := filepath.Join(tmp, filepath.FromSlash(name))
		folder := filepath.Dir(path)
		if !folders[folder] {
			if err := os.MkdirAll(folder, folderMode); err != nil {
				return err
			}
			folders[folder] = true
		}
		if err := writeFileSync(path, files[name]); err != nil {
			return err
		}
	}

	for folder := range folders {
		if err := syncPath(folder); err != nil {
			return err
		}
	}

	// os.Rename does not replace a folder, so an empty dir goes first.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return syncPath(parent)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
