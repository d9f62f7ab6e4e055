package growth_test

import (
	"fmt"

	"contigo/growth"
)

func ExampleAssess() {
	m := growth.NewMeasurement()
	m.Sex = growth.Female
	m.Age, m.AgeUnit = 400, growth.Days
	m.Position = growth.Standing // under 731 days: +0.7 cm
	m.Weight, m.LenHei, m.ArmC = 7.2, 74.5, 12.9
	r, err := growth.Assess(&m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("clenhei %.1f cm\n", r.CLenHei)
	for _, ind := range []growth.Indicator{growth.WeightForLenHei, growth.WeightForAge, growth.ArmCForAge, growth.HeadCForAge} {
		if s := r.Scores[ind]; s.OK {
			fmt.Printf("%s %.2f flag %v\n", ind, s.Z, s.Flag)
		} else {
			fmt.Printf("%s NA\n", ind)
		}
	}
	// Output:
	// clenhei 75.2 cm
	// zwfl -2.84 flag false
	// zwei -2.05 flag false
	// zac -1.22 flag false
	// zhc NA
}

func ExampleZ() {
	m := growth.NewMeasurement()
	m.Sex = growth.Male
	m.Age, m.AgeUnit = 130.5, growth.Months
	m.LenHei, m.Weight = 140.2, 31
	s, err := growth.Z(growth.BMIForAge5to19, &m)
	fmt.Println(s.Z, s.OK, err)
	_, err = growth.Z(growth.WeightForAge5to10, &growth.Measurement{Sex: growth.Male, Age: -1, AgeUnit: growth.Days})
	fmt.Println(err)
	// Output:
	// -0.65 true <nil>
	// growth: Age: negative
}
