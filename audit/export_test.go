package audit

// SegmentFile is the part of *os.File that the writer uses.
type SegmentFile = segmentFile

// WithOpenFile returns opts with the function that opens segment files for
// the writer replaced by open.
func WithOpenFile(opts Options, open func(name string, flag int) (SegmentFile, error)) Options {
	opts.openFile = open
	return opts
}
