package fleet

import (
	"context"

	"github.com/riverqueue/river/rivertype"
)

// JobCancel cancels a job as an operator would (tests).
func (f *Fleet) JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return f.client.JobCancel(ctx, id)
}
