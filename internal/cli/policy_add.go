package cli

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/measure"
	"github.com/bootproof/bootproof/internal/policy"
)

// fileRef is one reference value computed from a file, for one class.
type fileRef struct {
	class string
	file  string // the file's base name, for the summary
	pcr   int
	ref   policy.Reference
}

// addFlag is one of policy add's file flags: the class its files are
// referenced as, and which of a file's measurements the boot takes.
type addFlag struct {
	name, class string
	pcrs        []int
	files       []string
}

// newPolicyAddCmd is 'bootproof policy add GROUP --kernel FILE ...': a
// group's reference values computed from the files a vendor ships, with
// no golden host.
func newPolicyAddCmd(cf *clientFlags, stdio IO) *cobra.Command {
	flags := []*addFlag{
		// The kernel's EFI stub is an image firmware measures in PCR 4;
		// GRUB measures the file it read in PCR 9 first: both are kernel
		// components, and a kernel class with references must match both.
		{name: "kernel", class: policy.ClassKernel, pcrs: []int{measure.PCRImages, measure.PCRFiles}},
		{name: "bootloader", class: policy.ClassBootloader, pcrs: []int{measure.PCRImages}},
		{name: "initrd", class: policy.ClassInitrd, pcrs: []int{measure.PCRFiles}},
		{name: "grub-config", class: policy.ClassBootConfig, pcrs: []int{measure.PCRFiles}},
	}
	var label string
	var dryRun bool
	cmd := &cobra.Command{Use: "add GROUP --kernel FILE [--bootloader FILE] [--initrd FILE] [--grub-config FILE]",
		Short: "Add reference values computed from files (a kernel, shim, GRUB, an initramfs, grub.cfg) to GROUP's policy (admin)",
		Long: `Compute what a boot measures for each file, as 'bootproof measure' does, and
add it to GROUP's reference values: for a kernel both its Authenticode digest
(PCR 4) and its file digest (PCR 9), for a boot loader its Authenticode
digest, for an initramfs and grub.cfg their file digests, labelled from the
file. Values the policy already allows are not added twice. The command
prints what it adds, then sets the policy as 'policy set' does; --dry-run
only prints.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			refs, err := refsFromFiles(flags, label)
			if err != nil {
				return err
			}
			if len(refs) == 0 {
				return fmt.Errorf("policy add: no files: pass --kernel, --bootloader, --initrd or --grub-config")
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			path := "/api/v1/groups/" + url.PathEscape(args[0]) + "/policy"
			var raw []byte
			if err := c.Do(cmd.Context(), "GET", path, nil, &raw); err != nil {
				return fmt.Errorf("policy add: get the policy of %s: %w", args[0], err)
			}
			p, err := policy.Parse(raw)
			if err != nil {
				return fmt.Errorf("policy add: the policy of %s: %w", args[0], err)
			}
			added, err := addRefs(p, refs, stdio.Out)
			switch {
			case err != nil:
				return fmt.Errorf("policy add: %w", err)
			case added == 0:
				fmt.Fprintf(stdio.Out, "nothing to add: the policy of %s already allows every value\n", args[0])
				return nil
			case dryRun:
				fmt.Fprintf(stdio.Out, "dry run: %d reference values not added to %s\n", added, args[0])
				return nil
			}
			if err := p.Validate(); err != nil {
				return fmt.Errorf("policy add: %w", err)
			}
			b, err := p.Marshal()
			if err != nil {
				return err
			}
			return simpleCall(cmd.Context(), *cf, stdio, "PUT", path, b, fmt.Sprintf("policy of %s updated: %d reference values added", args[0], added))
		}}
	for _, f := range flags {
		cmd.Flags().StringArrayVar(&f.files, f.name, nil, "a "+f.class+" file (repeatable)")
	}
	cmd.Flags().StringVar(&label, "label", "", "label the references L instead of with what each file says (kernel version, SBAT)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be added, change nothing")
	return cmd
}

// refsFromFiles measures every file of every flag, refusing a file that
// cannot be of the flag's class (a kernel passed as --bootloader).
func refsFromFiles(flags []*addFlag, label string) ([]fileRef, error) {
	var out []fileRef
	for _, f := range flags {
		for _, path := range f.files {
			r, err := measureFile(path)
			if err != nil {
				return nil, fmt.Errorf("policy add --%s: %w", f.name, err)
			}
			if !r.CanBe(f.class) {
				return nil, fmt.Errorf("policy add --%s %s: %s: it can be %s, not %s",
					f.name, path, kindText[r.Kind], strings.Join(r.Classes, " or "), f.class)
			}
			out = append(out, fileRefs(f, filepath.Base(path), r, label)...)
		}
	}
	return out, nil
}

// fileRefs are one file's references: one per measurement the flag
// takes, labelled with the file's label (else its name), and when there
// are two, which is the image and which the file, as learnt kernels are.
func fileRefs(f *addFlag, name string, r *measure.Result, label string) []fileRef {
	if label == "" {
		label = r.Label
	}
	if label == "" {
		label = name
	}
	var ms []measure.Measurement
	for _, pcr := range f.pcrs {
		if m, ok := r.Measurement(pcr); ok {
			ms = append(ms, m)
		}
	}
	var out []fileRef
	for _, m := range ms {
		l := label
		if len(ms) > 1 && m.Method == measure.MethodAuthenticode {
			l += " (EFI image)"
		}
		d := m.Digests
		out = append(out, fileRef{class: f.class, file: name, pcr: m.PCR,
			ref: policy.Reference{SHA1: d.SHA1, SHA256: d.SHA256, SHA384: d.SHA384, SHA512: d.SHA512, Label: l}})
	}
	return out
}

// addRefs adds the references the policy does not allow yet, as
// policy.Reference.Matches decides, and prints each with what became of
// it. It returns how many it added.
func addRefs(p *policy.Policy, refs []fileRef, w io.Writer) (int, error) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	added := 0
	for _, fr := range refs {
		c := policy.Component{Class: fr.class, Digests: map[string]string{}}
		for _, bank := range measure.Banks {
			c.Digests[bank] = fr.ref.Digest(bank)
		}
		if old, ok, _ := p.Match(c); ok {
			fmt.Fprintf(tw, "=\t%s\t%s\tPCR %d\t%s\talready allowed as %q\n", fr.class, fr.ref.Label, fr.pcr, fr.file, old.Label)
			continue
		}
		if err := p.References.Add(fr.class, fr.ref); err != nil {
			return added, err
		}
		added++
		fmt.Fprintf(tw, "+\t%s\t%s\tPCR %d\t%s\tsha256:%s\n", fr.class, fr.ref.Label, fr.pcr, fr.file, fr.ref.SHA256)
	}
	return added, nil
}
