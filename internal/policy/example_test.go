package policy_test

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/policy"
)

func ExampleParse() {
	p, err := policy.Parse([]byte(`
secure_boot_required: true
references:
  kernel:
    - sha256: 3333333333333333333333333333333333333333333333333333333333333333
      label: kernel 6.7.0-8169922
pcrs_ignore: [10]
interval: 1m
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.References.Kernel[0], p.Interval, p.VerdictMaxAge, p.Bundles.MinAcceptance, p.Enforcement)
	// Output: kernel 6.7.0-8169922 (3333333333333333333333333333333333333333333333333333333333333333) 1m0s 2m0s partner enforce
}
