package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bootproof/bootproof/internal/measure"
)

// newMeasureCmd is 'bootproof measure FILE': what a boot would measure for
// a file, computed offline from the file, so that an operator can compare
// a vendor's file with an event log or write reference values by hand.
func newMeasureCmd(stdio IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "measure FILE", Short: "Print what a boot would measure for FILE (EFI image, kernel, initramfs, grub.cfg), offline",
		Long: `Print what a boot would measure for FILE: its kind, a label read from it (a
Linux kernel's version, shim's or GRUB's SBAT), and its digests in every
bank: the Authenticode digest firmware and shim extend into PCR 4 for an EFI
image, and the file digest GRUB extends into PCR 9 for a file it reads.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := measureFile(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdio.Out, r)
			}
			return writeMeasure(stdio.Out, filepath.Base(args[0]), r)
		}}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// measureFile reads and measures a file; errors name it, and for a
// damaged file, the structure and offset that are wrong.
func measureFile(path string) (*measure.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	r, err := measure.File(b)
	if err != nil {
		return nil, fmt.Errorf("measure %s: %w", path, err)
	}
	return r, nil
}

// kindText says what each kind is, for people.
var kindText = map[measure.Kind]string{
	measure.KindEFIImage:  "EFI image (a boot loader)",
	measure.KindEFIKernel: "EFI image with a Linux kernel (EFI stub or unified kernel image)",
	measure.KindKernel:    "Linux kernel without an EFI stub",
	measure.KindFile:      "file (no EFI image or Linux boot header)",
}

var methodText = map[string]string{
	measure.MethodAuthenticode: "Authenticode digest",
	measure.MethodFile:         "file digest",
}

func writeMeasure(w io.Writer, name string, r *measure.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file:\t%s (%d bytes)\n", name, r.Size)
	fmt.Fprintf(tw, "kind:\t%s\n", kindText[r.Kind])
	if r.Label != "" {
		fmt.Fprintf(tw, "label:\t%s\n", r.Label)
	}
	if r.KernelVersion != "" {
		fmt.Fprintf(tw, "version:\t%s\n", r.KernelVersion)
	}
	if len(r.SBAT) > 0 {
		var s []string
		for _, e := range r.SBAT {
			s = append(s, fmt.Sprintf("%s,%d", e.Component, e.Generation))
		}
		fmt.Fprintf(tw, "sbat:\t%s\n", strings.Join(s, " "))
	}
	fmt.Fprintf(tw, "classes:\t%s\n", strings.Join(r.Classes, ", "))
	for _, m := range r.Measurements {
		fmt.Fprintf(tw, "\nPCR %d: %s, measured by %s\n", m.PCR, methodText[m.Method], m.By)
		for _, bank := range measure.Banks {
			fmt.Fprintf(tw, "  %s\t%s\n", bank, m.Digests.Bank(bank))
		}
	}
	return tw.Flush()
}
