package mongo

import (
	"context"
	"fmt"
	"time"

	"contigo/records"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EachNutrition calls fn with the id and nutrition state (records.Person.Nutrition)
// of every person of cc that has one, until fn returns an error, which it
// returns. For indicators and the follow-up scheduler. It reads the small
// projection documents (projection.go), not the records.
func (s *Store) EachNutrition(ctx context.Context, cc records.Country, fn func(id string, state []byte) error) (err error) {
	defer s.observe("each_nutrition", time.Now(), &err)
	err = s.eachProjection(ctx, cc, bson.D{}, bson.D{{Key: "version", Value: 1}, {Key: "nutrition", Value: 1}}, func(d *projDoc) error {
		if d.Nutrition == "" {
			return nil
		}
		return fn(d.ID, []byte(d.Nutrition))
	})
	if err != nil {
		return fmt.Errorf("nutrition states: %w", err)
	}
	return nil
}

// EachNutritionRecord is EachNutrition reading the records themselves (the
// source of truth; every whole record is decoded on the embedded engine).
func (s *Store) EachNutritionRecord(ctx context.Context, cc records.Country, fn func(id string, state []byte) error) (err error) {
	defer s.observe("each_nutrition_record", time.Now(), &err)
	filter := bson.D{{Key: "nutrition", Value: bson.D{{Key: "$exists", Value: true}}}}
	opts := options.Find().SetProjection(bson.D{{Key: "nutrition", Value: 1}})
	cur, err := s.coll(cc, personsColl).Find(ctx, filter, opts)
	if err != nil {
		return fmt.Errorf("nutrition states: %w", mapErr(err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d struct {
			ID        string `bson:"_id"`
			Nutrition string `bson:"nutrition"`
		}
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("nutrition states: decode: %w", err)
		}
		if d.Nutrition == "" {
			continue
		}
		if err := fn(d.ID, []byte(d.Nutrition)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("nutrition states: %w", mapErr(err))
	}
	return nil
}
